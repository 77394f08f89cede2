import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig, resolveService, type ResolvedService } from '../../../src-shared/config-schema.js';
import { ShellServiceManager } from '../../../src-main/core/managers/shell-service-manager.js';
import { isAlive, killGroup, waitUntil } from '../../helpers/process-tree.js';
import { freePort, spawnStandIn, standInCommand, type SpawnedStandIn } from '../../helpers/stand-in.js';

let dir: string;
const spawned: SpawnedStandIn[] = [];
const pidfiles: string[] = [];
const managers: ShellServiceManager[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-stand-in-cli-'));
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  for (const s of spawned.splice(0)) s.kill('SIGKILL');
  // Whatever the start script left running is in the session/group its pidfile names.
  for (const f of pidfiles.splice(0)) if (existsSync(f)) killGroup(Number(readFileSync(f, 'utf8')));
  rmSync(dir, { recursive: true, force: true });
});

describe('stand-in CLI as a process', () => {
  it('prints "listening <port>", writes its pidfile, serves, and exits 0 on SIGTERM', async () => {
    const pidfile = join(dir, 'llm.pid');
    const s = await spawnStandIn(['--kind', 'llm', '--pidfile', pidfile]);
    spawned.push(s);
    expect(readFileSync(pidfile, 'utf8')).toBe(`${s.pid}\n`);
    expect(await (await fetch(s.healthUrl)).json()).toEqual({ status: 'ok' });
    s.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(pidfile)).toBe(false);
  });

  it('--exit-at-once: spawnStandIn rejects with the stand-in\'s own message', async () => {
    await expect(spawnStandIn(['--exit-at-once'])).rejects.toThrow(/exited \(3\) before listening: stand-in \(plain\): fatal: cannot start/);
  });
});

describe('start-stand-in.sh as a restartCmd', () => {
  function service(cmd: string): ResolvedService {
    return { ...resolveService(defaultConfig(), { name: 'llm', healthUrl: 'http://127.0.0.1:1/health', restartCmd: cmd }), restartTimeout: 60 };
  }
  function manager(): ShellServiceManager {
    const m = new ShellServiceManager({ probes: { get: () => { throw new Error('unused'); } }, workingDir: dir, killGraceMs: 1000 });
    managers.push(m);
    return m;
  }

  it('starts the stand-in detached, exits 0 once it listens, and brings a killed one back', async () => {
    const port = await freePort();
    const pidfile = join(dir, 'llm.pid');
    pidfiles.push(pidfile);
    const cmd = standInCommand({ port, pidfile, args: ['--kind', 'llm'] });

    const first = await manager().restart(service(cmd));
    expect(first).toMatchObject({ ok: true, output: expect.stringContaining(`listening on 127.0.0.1:${port}`) });
    const pid1 = Number(readFileSync(pidfile, 'utf8'));
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    killGroup(pid1); // the service crashes
    await waitUntil(() => !isAlive(pid1));
    const second = await manager().restart(service(cmd));
    expect(second.ok).toBe(true);
    const pid2 = Number(readFileSync(pidfile, 'utf8'));
    expect(pid2).not.toBe(pid1);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    expect(readFileSync(`${pidfile}.log`, 'utf8').match(/^listening /gm)).toHaveLength(2); // log appended, never truncated
  });

  it('stops the running instance before starting a new one on the same port', async () => {
    const port = await freePort();
    const pidfile = join(dir, 'det.pid');
    pidfiles.push(pidfile);
    const cmd = standInCommand({ port, pidfile, args: ['--kind', 'detector', '--hang'] });
    expect((await manager().restart(service(cmd))).ok).toBe(true);
    const old = Number(readFileSync(pidfile, 'utf8'));

    const again = await manager().restart(service(cmd));
    expect(again).toMatchObject({ ok: true, output: expect.stringContaining(`stopping previous instance ${old}`) });
    expect(isAlive(old)).toBe(false);
    expect(Number(readFileSync(pidfile, 'utf8'))).not.toBe(old);
  });

  it('fails with the log tail when the service cannot start', async () => {
    const port = await freePort();
    const pidfile = join(dir, 'bad.pid');
    pidfiles.push(pidfile);
    const result = await manager().restart(service(standInCommand({ port, pidfile, args: ['--exit-at-once'] })));
    expect(result).toMatchObject({ ok: false, reason: 'exit code 1' });
    expect(result.output).toContain('stand-in exited before listening');
    expect(result.output).toContain('fatal: cannot start (--exit-at-once)');
  });
});
