import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { nodeScriptArgv } from '../../src-main/demo/node-script.js';
import { killGroup } from './process-tree.js';
export { freePort, shQuote as shellQuote } from '../../src-main/demo/shell-words.js';
import { shQuote as shellQuote } from '../../src-main/demo/shell-words.js';

/** argv that runs the stand-in CLI from sources: [node, --import, tsx, …/stand-in-cli.ts]. */
export const STAND_IN_ARGV: string[] = nodeScriptArgv('./stand-in-cli.js');

/** The fixture script that (re)starts a stand-in the way the real ai/ start scripts do. */
export const START_STAND_IN_SCRIPT = fileURLToPath(new URL('../fixtures/start-stand-in.sh', import.meta.url));

/** A stand-in running as its own process (and process group). */
export interface SpawnedStandIn {
  pid: number;
  port: number;
  url: string;
  healthUrl: string;
  /** Signal its whole process group (default SIGTERM); no error if it is gone. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/** Spawn the stand-in CLI detached and wait for its `listening <port>` line. */
export async function spawnStandIn(args: string[] = []): Promise<SpawnedStandIn> {
  const [node, ...rest] = STAND_IN_ARGV as [string, ...string[]];
  const child = spawn(node, [...rest, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the stand-in');
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /^listening (\d+)$/m.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(({ code, signal }) => reject(new Error(`stand-in exited (${code ?? signal}) before listening: ${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return { pid, port, url, healthUrl: `${url}/health`, kill: (signal = 'SIGTERM') => killGroup(pid, signal), exited, stderr: () => stderr };
}



/** Options of a restart command that (re)starts a stand-in on a fixed port. */
export interface StandInCommandOptions {
  port: number;
  /** Where the stand-in's pid is kept: the script stops the instance it names before starting anew. */
  pidfile: string;
  /** Log the stand-in's output is appended to (default `<pidfile>.log`). */
  log?: string;
  /** More stand-in arguments: --kind, --load-seconds … */
  args?: string[];
  /** Seconds the script waits for the stand-in to listen (default 30). */
  startupTimeout?: number;
}

/**
 * A shell command line (for `restartCmd`) that stops the previous stand-in named in the pidfile,
 * starts a new one detached in its own session, and exits 0 once it listens (non-zero, with the
 * log's tail, if it dies or does not listen in time).
 */
export function standInCommand(opts: StandInCommandOptions): string {
  const env = [
    `PORT=${opts.port}`,
    `PIDFILE=${shellQuote(opts.pidfile)}`,
    `LOG=${shellQuote(opts.log ?? `${opts.pidfile}.log`)}`,
    `STARTUP_TIMEOUT=${opts.startupTimeout ?? 30}`,
  ];
  const words = [START_STAND_IN_SCRIPT, ...STAND_IN_ARGV, ...(opts.args ?? [])].map(shellQuote);
  return [...env, '/bin/sh', ...words].join(' ');
}
