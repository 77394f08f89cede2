import fs from 'node:fs/promises';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { load } from '../lazy-modules.js';
import type { Logger } from 'pino';
import { resolveService, type ResolvedService, type WardenConfig } from '../../../src-shared/config-schema.js';
import { ProbeRegistry } from '../probes/probe-registry.js';
import { POLKIT_HINT, SystemdServiceManager } from '../managers/systemd-service-manager.js';

/** One service's verdict: can its strategy act on it, and if not, what to fix. */
export interface DoctorFinding {
  service: string;
  strategy: 'shell' | 'docker' | 'systemd';
  ok: boolean;
  /** What was checked and found, in a line. */
  message: string;
  /** What to do, when not ok. */
  fix?: string;
}

export interface DoctorDeps {
  logger: Logger;
  /** Restart commands run here (config workingDir, or the folder that holds ai/). */
  workingDir: string;
  env: Record<string, string | undefined>;
  docker?: Dockerode;
  systemdBus?: { system?: string; user?: string };
  /** Is Warden root (systemd lets root manage every unit)? */
  isRoot?: boolean;
}

/**
 * `warden doctor` (CONTRACT §13): for each service, whether its strategy can act — the restart
 * command exists and is executable, the Docker socket answers and the container exists, the unit
 * exists and the bus would let Warden restart it — and what to fix when not.
 */
export async function diagnose(config: WardenConfig, deps: DoctorDeps): Promise<DoctorFinding[]> {
  const systemd = new SystemdServiceManager({ probes: new ProbeRegistry(), logger: deps.logger, systemBusAddress: deps.systemdBus?.system, userBusAddress: deps.systemdBus?.user });
  try {
    const out: DoctorFinding[] = [];
    for (const s of config.services) {
      const svc = resolveService(config, s);
      const base = { service: svc.name, strategy: svc.strategy };
      if (svc.strategy === 'shell') out.push({ ...base, ...(await shell(svc, deps)) });
      else if (svc.strategy === 'docker') out.push({ ...base, ...(await docker(svc, deps)) });
      else out.push({ ...base, ...(await unit(svc, systemd, deps)) });
    }
    return out;
  } finally {
    await systemd.close();
  }
}

type Verdict = Pick<DoctorFinding, 'ok' | 'message' | 'fix'>;

async function shell(svc: ResolvedService, deps: DoctorDeps): Promise<Verdict> {
  if (svc.restartCmd === null) return { ok: true, message: 'monitor only: never restarted' };
  const first = svc.restartCmd.trim().split(/\s+/)[0]!;
  if (first === 'sudo') {
    return {
      ok: false,
      message: `"${svc.restartCmd}" needs sudo, which has no terminal to ask for a password from Warden`,
      fix: `use "strategy": "systemd" with "unit" and a polkit rule (README: "systemd without sudo")`,
    };
  }
  // A shell assignment or builtin first (FOO=1 cmd, cd x && …) cannot be checked without running it.
  if (/[=;&|()$`]/.test(first)) return { ok: true, message: `${first}…: a shell line, not checked` };
  const file = first.includes('/') ? path.resolve(deps.workingDir, first) : await onPath(first, deps.env.PATH ?? '');
  if (!file) return { ok: false, message: `${first}: not found on PATH`, fix: 'install it, or give its full path in restartCmd' };
  try {
    await fs.access(file, fs.constants.X_OK);
    return { ok: true, message: `${file} exists and is executable` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? { ok: false, message: `${file}: not found (restart commands run in ${deps.workingDir})`, fix: 'fix the path in restartCmd, or set workingDir' }
      : { ok: false, message: `${file}: not executable`, fix: `chmod +x ${file}` };
  }
}

async function onPath(cmd: string, pathVar: string): Promise<string | null> {
  for (const dir of pathVar.split(path.delimiter).filter(Boolean)) {
    const p = path.join(dir, cmd);
    if (await fs.access(p, fs.constants.X_OK).then(() => true, () => false)) return p;
  }
  return null;
}

async function docker(svc: ResolvedService, deps: DoctorDeps): Promise<Verdict> {
  const client = deps.docker ?? new (load.dockerode())();
  try {
    await client.ping();
  } catch (err) {
    return { ok: false, message: `the Docker daemon is not reachable: ${(err as Error).message}`, fix: 'start Docker, or add the Warden user to the docker group (then log in again)' };
  }
  try {
    const info = await client.getContainer(svc.container).inspect();
    return { ok: true, message: `container ${svc.container} exists (${info.State.Status})` };
  } catch {
    return { ok: false, message: `container ${svc.container} does not exist`, fix: `create it (docker run --name ${svc.container} …), or set "container"` };
  }
}

async function unit(svc: ResolvedService, systemd: SystemdServiceManager, deps: DoctorDeps): Promise<Verdict> {
  let state;
  try {
    state = await systemd.unitState(svc, svc.unit);
  } catch (err) {
    return { ok: false, message: `the ${svc.bus} bus is not reachable: ${(err as Error).message}`, fix: svc.bus === 'user' ? 'run Warden in your user session (DBUS_SESSION_BUS_ADDRESS)' : 'is dbus running? (systemctl status dbus)' };
  }
  if (state.loadState === 'not-found') return { ok: false, message: `unit ${svc.unit} not found`, fix: `check the name (systemctl list-unit-files '${svc.unit.replace(/\.service$/, '')}*'), or set "unit"` };
  if (state.loadState !== 'loaded') return { ok: false, message: `unit ${svc.unit} is ${state.loadState}`, fix: state.loadState === 'masked' ? `systemctl unmask ${svc.unit}` : `systemctl status ${svc.unit} says why` };
  const now = `unit ${svc.unit} is ${state.activeState} (${state.subState})`;
  if (svc.bus === 'user') return { ok: true, message: `${now}; a user unit: your own session may restart it` };
  if (deps.isRoot ?? process.getuid?.() === 0) return { ok: true, message: `${now}; Warden runs as root: systemd lets it restart the unit` };
  const allowed = await systemd.mayManage(svc).catch((err: unknown) => err as Error);
  if (allowed === true) return { ok: true, message: `${now}; systemd lets Warden manage it (polkit)` };
  const why = allowed instanceof Error ? `could not tell whether systemd lets Warden manage it (${allowed.message})` : 'systemd does not let Warden manage it without a password';
  return { ok: false, message: `${now}; ${why}`, fix: POLKIT_HINT };
}

/** The findings as the terminal shows them: one line each, a fix under a failing one. */
export function formatFindings(findings: DoctorFinding[]): string {
  const lines = findings.flatMap((f) => [`${f.ok ? 'ok  ' : 'FAIL'}  ${f.service} (${f.strategy}): ${f.message}`, ...(f.fix ? [`      fix: ${f.fix}`] : [])]);
  const bad = findings.filter((f) => !f.ok).length;
  lines.push(bad === 0 ? `All ${findings.length} services can be restarted by their strategy.` : `${bad} of ${findings.length} services cannot be restarted as configured.`);
  return `${lines.join('\n')}\n`;
}
