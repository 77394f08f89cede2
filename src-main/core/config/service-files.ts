import path from 'node:path';
import type { ResolvedService } from '../../../src-shared/config-schema.js';

type Env = Record<string, string | undefined>;

/** Which `ai/` start script a restart command runs (its files are found like the script finds them). */
function aiScript(restartCmd: string | null): 'rtdetr' | 'nemotron' | null {
  const script = /(?:^|[\s/])start_(detector|nemotron)\.sh\b/.exec(restartCmd ?? '')?.[1];
  return script === undefined ? null : script === 'detector' ? 'rtdetr' : 'nemotron';
}

/** `$XDG_STATE_HOME/warden/<name>.<ext>`, where the `ai/` scripts keep their pidfile and log. */
function scriptFile(name: string, ext: string, env: Env): string | null {
  const state = env.XDG_STATE_HOME || (env.HOME ? path.join(env.HOME, '.local', 'state') : null);
  return state ? path.join(state, 'warden', `${name}.${ext}`) : null;
}

/**
 * The log file a service's own output goes to (CONTRACT §12): its `logFile`, else — for the `ai/`
 * start scripts — the log they append to (as the scripts compute it), else none.
 */
export function serviceLogFile(svc: Pick<ResolvedService, 'logFile' | 'restartCmd'>, env: Env): string | null {
  if (svc.logFile) return svc.logFile;
  const script = aiScript(svc.restartCmd);
  return script ? scriptFile(script, 'log', env) : null;
}

/** The pidfile of a service's server: its `pidfile`, else the `ai/` start script's, else none. */
export function servicePidfile(svc: Pick<ResolvedService, 'pidfile' | 'restartCmd'>, env: Env): string | null {
  if (svc.pidfile) return svc.pidfile;
  const script = aiScript(svc.restartCmd);
  return script ? scriptFile(script, 'pid', env) : null;
}
