import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig, resolveService, type ResolvedService } from '../../../src-shared/config-schema.js';
import type { Probe, ProbeResult } from '../../../src-main/core/probes/probe.js';
import { ShellServiceManager } from '../../../src-main/core/managers/shell-service-manager.js';
import type { RestartResult } from '../../../src-main/core/managers/service-manager.js';
import { groupPids, isAlive, killGroup, killPid, waitUntil } from '../../helpers/process-tree.js';

let dir: string;
const started: number[] = []; // pgids and pids this file must not leave behind
const managers: ShellServiceManager[] = [];

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'warden-shell-')));
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  for (const pid of started.splice(0)) {
    killGroup(pid);
    killPid(pid);
  }
  rmSync(dir, { recursive: true, force: true });
});

function service(restartCmd: string | null, overrides: Partial<ResolvedService> = {}): ResolvedService {
  const config = defaultConfig();
  return { ...resolveService(config, { name: 'svc', healthUrl: 'http://127.0.0.1:1/health', restartCmd }), ...overrides };
}

function manager(opts: { killGraceMs?: number; warnings?: string[]; probe?: Probe } = {}): ShellServiceManager {
  const m = new ShellServiceManager({
    probes: { get: () => opts.probe ?? { check: async () => ({ state: 'down', reason: 'unused', latencyMs: 0 }), close: async () => {} } },
    workingDir: dir,
    killGraceMs: opts.killGraceMs ?? 300,
    logger: { warn: (_obj, msg) => opts.warnings?.push(msg) },
  });
  managers.push(m);
  return m;
}

/** Narrow a result to the failure branch, failing the test if it succeeded. */
function failed(result: RestartResult) {
  if (result.ok) throw new Error(`expected a failed restart, got ok with output ${JSON.stringify(result.output)}`);
  return result;
}

/**
 * A restart command that hangs with three background children, one of which ignores SIGTERM
 * (the ignored disposition survives exec, so its `sleep` ignores TERM too). Once all are forked
 * it writes its own pid (= the process group id) to `ready`.
 */
const HANGING_TREE =
  `sleep 1000 & sleep 1000 & sh -c 'trap "" TERM; sleep 1000' & ` + `echo started; echo $$ > ready; wait`;

/** Wait until the hanging tree is up; returns its pgid and a snapshot of its group from /proc. */
async function treeIsUp(): Promise<{ pgid: number; pids: number[] }> {
  const pgid = await waitUntil(() => existsSync(join(dir, 'ready')) && Number(readFileSync(join(dir, 'ready'), 'utf8')));
  started.push(pgid);
  const pids = await waitUntil(() => {
    const now = groupPids(pgid).filter(isAlive);
    return now.length >= 4 ? now : null;
  });
  return { pgid, pids };
}

function expectGroupDead(pgid: number, pids: number[]): void {
  expect(pids).toContain(pgid);
  for (const pid of [...pids, ...groupPids(pgid)]) expect(isAlive(pid), `pid ${pid} of group ${pgid}`).toBe(false);
}

describe('ShellServiceManager.restart', () => {
  it('succeeds on exit code 0 and returns what the command printed', async () => {
    const result = await manager().restart(service('echo restarted; echo done >&2'));
    expect(result.ok).toBe(true);
    expect(result.output).toContain('restarted');
    expect(result.output).toContain('done');
  });

  it('runs the command in workingDir', async () => {
    const result = await manager().restart(service('pwd'));
    expect(result).toEqual({ ok: true, output: dir });
  });

  it('fails on a non-zero exit with the exit code and the tail of stdout and stderr', async () => {
    const result = failed(await manager().restart(service('echo first; echo oops >&2; echo last line; exit 1')));
    expect(result.reason).toBe('exit code 1');
    expect(result).toMatchObject({ exitCode: 1, signal: null, timedOut: false });
    expect(result.output).toContain('oops');
    expect(result.output).toContain('last line');
  });

  it('keeps only the last 4 KiB of a command that prints 1 MB', async () => {
    const cmd = `head -c 1048576 /dev/zero | tr '\\0' 'x'; echo; echo the last line; exit 1`;
    const result = failed(await manager().restart(service(cmd)));
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(4096);
    expect(result.output.endsWith('the last line')).toBe(true);
  });

  it('says plainly when the command does not exist (exit 127) and keeps the shell message', async () => {
    const result = failed(await manager().restart(service('./ai/no-such-script.sh')));
    expect(result.exitCode).toBe(127);
    expect(result.reason).toBe('command not found: ./ai/no-such-script.sh');
    expect(result.output).toMatch(/no-such-script\.sh.*not found/);
  });

  it('says so when the command is not executable (exit 126)', async () => {
    writeFileSync(join(dir, 'start.sh'), '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const result = failed(await manager().restart(service('./start.sh')));
    expect(result.exitCode).toBe(126);
    expect(result.reason).toBe('command not executable (permission denied?): ./start.sh');
  });

  it('reports a command killed by a signal', async () => {
    const result = failed(await manager().restart(service('echo dying; kill -KILL $$')));
    expect(result).toMatchObject({ reason: 'killed by SIGKILL', exitCode: null, signal: 'SIGKILL', timedOut: false });
    expect(result.output).toBe('dying');
  });

  it('refuses to run a monitor-only service (restartCmd null)', async () => {
    const result = failed(await manager().restart(service(null)));
    expect(result).toEqual({ ok: false, reason: 'restartCmd is null (monitor only)', output: '', exitCode: null, signal: null, timedOut: false });
  });

  it('fails with a clear reason when workingDir does not exist', async () => {
    const m = new ShellServiceManager({ probes: { get: () => { throw new Error('unused'); } }, workingDir: join(dir, 'missing') });
    managers.push(m);
    const result = failed(await m.restart(service('true')));
    expect(result.reason).toBe(`could not start the command: The "cwd" option is invalid: ${join(dir, 'missing')}.`);
    expect(result.output).toContain('ENOENT');
  });

  it('on timeout kills the whole process group, grandchildren that ignore SIGTERM included', async () => {
    const warnings: string[] = [];
    const running = manager({ killGraceMs: 300, warnings }).restart(service(HANGING_TREE, { restartTimeout: 2 }));
    const { pgid, pids } = await treeIsUp();
    const result = failed(await running);
    expect(result).toMatchObject({ reason: 'timed out after 2 s (process group killed)', timedOut: true, exitCode: null });
    expect(result.output).toBe('started');
    expectGroupDead(pgid, pids);
    expect(warnings).toEqual(['restart command ignored SIGTERM; process group killed']);
  });

  it('does not wait out the kill grace period when the group leaves on SIGTERM', async () => {
    // With a 120 s grace the test would hit its own 60 s timeout if the manager waited it out.
    const running = manager({ killGraceMs: 120_000 }).restart(service('sleep 1000 & echo $$ > ready; wait', { restartTimeout: 1 }));
    const pgid = await waitUntil(() => existsSync(join(dir, 'ready')) && Number(readFileSync(join(dir, 'ready'), 'utf8')));
    started.push(pgid);
    const result = failed(await running);
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    expect(groupPids(pgid).filter(isAlive)).toEqual([]);
  });

  it('on abort of the caller signal kills the whole process group', async () => {
    const controller = new AbortController();
    const running = manager().restart(service(HANGING_TREE, { restartTimeout: 60 }), controller.signal);
    const { pgid, pids } = await treeIsUp();
    controller.abort();
    const result = failed(await running);
    expect(result).toMatchObject({ reason: 'aborted', timedOut: false });
    expectGroupDead(pgid, pids);
  });

  it('does not start the command when the signal is already aborted', async () => {
    const result = failed(await manager().restart(service('echo ran > ran'), AbortSignal.abort()));
    expect(result.reason).toBe('aborted');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('leaves a daemon the command started in its own session (setsid) running', async () => {
    // The daemon inherits the output pipe and keeps it open: the result must still come.
    const result = await manager().restart(service('setsid sleep 1000 & echo "daemon $!"'));
    expect(result.ok).toBe(true);
    const daemon = Number(/daemon (\d+)/.exec(result.output)?.[1]);
    started.push(daemon);
    expect(isAlive(daemon)).toBe(true);
    expect(groupPids(daemon)).toEqual([daemon]); // it leads its own group, apart from the command's
  });

  it('close() during a restart kills its process group and resolves once it is gone', async () => {
    const m = manager();
    const running = m.restart(service(HANGING_TREE, { restartTimeout: 60 }));
    const { pgid, pids } = await treeIsUp();
    await m.close();
    expectGroupDead(pgid, pids);
    expect(failed(await running).reason).toBe('aborted');
    expect(failed(await m.restart(service('true'))).reason).toBe('aborted (manager closed)');
  });
});

describe('ShellServiceManager.restart with a stopCmd (CONTRACT §9.8)', () => {
  it('a manual restart runs stopCmd, then restartCmd, and keeps the output of both', async () => {
    const svc = service('echo start >> steps; echo started', { stopCmd: 'echo stop >> steps; echo stopped' });
    expect(await manager().restart(svc, undefined, { manual: true })).toEqual({ ok: true, output: 'stopped\nstarted' });
    expect(readFileSync(join(dir, 'steps'), 'utf8')).toBe('stop\nstart\n');
  });

  it('an automatic restart runs restartCmd alone', async () => {
    const svc = service('echo start >> steps', { stopCmd: 'echo stop >> steps' });
    expect((await manager().restart(svc)).ok).toBe(true);
    expect(readFileSync(join(dir, 'steps'), 'utf8')).toBe('start\n');
  });

  it('a failing stopCmd fails the restart and restartCmd is not run', async () => {
    const svc = service('echo start >> steps', { stopCmd: 'echo cannot stop; exit 3' });
    const result = failed(await manager().restart(svc, undefined, { manual: true }));
    expect(result).toMatchObject({ reason: 'stop command failed: exit code 3', output: 'cannot stop', exitCode: 3 });
    expect(existsSync(join(dir, 'steps'))).toBe(false);
  });
});

describe('ShellServiceManager.checkHealth', () => {
  it("answers with the service's own probe", async () => {
    const up: ProbeResult = { state: 'up', reason: 'HTTP 200', latencyMs: 3 };
    const seen: (AbortSignal | undefined)[] = [];
    const probe: Probe = { check: async (signal) => (seen.push(signal), up), close: async () => {} };
    const signal = new AbortController().signal;
    expect(await manager({ probe }).checkHealth(service(null), signal)).toBe(up);
    expect(seen).toEqual([signal]);
    expect(manager().type).toBe('shell');
  });
});
