// The systemd strategy (CONTRACT §13) against a real systemd 252 as PID 1 of a container, with
// Debian's redis-server as a real unit, over its real system bus: RestartUnit and its job,
// PropertiesChanged as instant detection, a deliberate `systemctl stop` respected, an unknown unit,
// and access denied for a user without a polkit rule.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, resolveService } from '../../../src-shared/config-schema.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { SystemdServiceManager } from '../../../src-main/core/managers/systemd-service-manager.js';
import { ProbeRegistry } from '../../../src-main/core/probes/probe-registry.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { startDockerd, type PrivateDockerd } from '../../helpers/dockerd.js';
import { captureIo } from '../../helpers/capture-io.js';
import { main } from '../../../src-main/cli/main.js';
import { diagnose, formatFindings } from '../../../src-main/core/doctor/doctor.js';
import { MonitorLog } from '../../helpers/event-log.js';
import { freePort } from '../../helpers/stand-in.js';
import { importImage, startSystemdContainer, type SystemdContainer } from '../../helpers/systemd-container.js';

let dockerd: PrivateDockerd;
let sd: SystemdContainer;
let dir: string;
let warden: Warden | null = null;

beforeAll(async () => {
  dockerd = await startDockerd();
  await importImage(dockerd.docker);
  sd = await startSystemdContainer(dockerd.docker, await freePort());
}, 300_000);
afterAll(async () => {
  await sd?.stop();
  await dockerd?.stop();
}, 60_000);
afterEach(async () => {
  await warden?.stop();
  warden = null;
  // Every test starts from a running redis-server.
  await sd.exec(['systemctl', 'reset-failed', 'redis-server']);
  await sd.exec(['systemctl', 'start', 'redis-server']);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** SIGKILL redis-server from outside systemd (the shell's kill: minbase has no procps). */
async function crash(): Promise<void> {
  const r = await sd.exec(['sh', '-c', `kill -9 ${await redisPid()}`]);
  expect(r.code, r.output).toBe(0);
}

const redisPid = async () => Number((await sd.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'redis-server'])).output.trim());

async function run(service: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-systemd-'));
  const config = configSchema.parse({ healthCheckInterval: 3600, serviceBackoffBase: 0.2, failedRetryInterval: 0, ...extra, services: [{ name: 'redis', restartCmd: 'unused', strategy: 'systemd', unit: 'redis-server.service', healthUrl: `redis://127.0.0.1:${sd.redisPort}`, ...service }] });
  warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: dir, systemdBus: { system: sd.busAddress } });
  const log = new MonitorLog(warden.monitor);
  warden.start();
  await log.status('redis', 'healthy');
  return { warden, log };
}

describe('the systemd strategy against a real systemd', () => {
  it('Restart now restarts the unit through RestartUnit and waits for its job', async () => {
    const { warden: w, log } = await run({});
    const before = await redisPid();
    const from = log.events.items.length;
    expect(w.monitor.act('redis', 'restart')).toMatchObject({ ok: true });
    await log.status('redis', 'healthy', from);
    const after = await redisPid();
    expect(after).not.toBe(before);
    expect(after).toBeGreaterThan(0);
    expect(log.statuses('redis').slice(-2)).toEqual(['restarting', 'healthy']);
  });

  it('kill -9 of redis-server: seen at once from PropertiesChanged (no probe was due for an hour), restarted, healthy', async () => {
    const { warden: w, log } = await run({});
    const from = log.events.items.length;
    await crash();
    const down = await log.status('redis', 'unhealthy', from);
    expect(down.message).toMatch(/Health check failed/);
    await log.status('redis', 'healthy', from);
    expect(w.monitor.state('redis')?.restarts).toBe(1);
    expect((await sd.exec(['systemctl', 'is-active', 'redis-server'])).output.trim()).toBe('active');
  });

  it('switching one service’s strategy applies live: shell until the save, then systemd’s RestartUnit', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-systemd-'));
    const marker = path.join(dir, 'shell-ran');
    const configFile = path.join(dir, 'config.json');
    const redis = { name: 'redis', healthUrl: `redis://127.0.0.1:${sd.redisPort}`, restartCmd: `echo ran >> ${marker}`, unit: 'redis-server.service' };
    const other = { name: 'other', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null };
    const config = configSchema.parse({ healthCheckInterval: 3600, services: [redis, other] });
    await fs.writeFile(configFile, JSON.stringify(config));
    warden = await createWarden(config, { logger: silentLogger(), configFile, dataDir: dir, systemdBus: { system: sd.busAddress } });
    const log = new MonitorLog(warden.monitor);
    warden.start();
    await log.status('redis', 'healthy');
    let from = log.events.items.length;
    warden.monitor.act('redis', 'restart'); // the shell strategy: the command runs, systemd is not asked
    await log.status('redis', 'healthy', from);
    expect(await fs.readFile(marker, 'utf8')).toBe('ran\n');
    const pid = await redisPid();
    await warden.updateConfig(configSchema.parse({ ...config, services: [{ ...redis, strategy: 'systemd' }, other] }));
    from = log.events.items.length;
    warden.monitor.act('redis', 'restart');
    await log.status('redis', 'healthy', from);
    expect(await redisPid()).not.toBe(pid); // systemd restarted the unit
    expect(await fs.readFile(marker, 'utf8')).toBe('ran\n'); // and the shell command did not run again
    expect(warden.monitor.state('other')?.status).toBe('unhealthy'); // the other service kept its own strategy and state
  });

  it('systemctl stop is respected: paused, never restarted', async () => {
    const { warden: w, log } = await run({});
    const from = log.events.items.length;
    await sd.exec(['systemctl', 'stop', 'redis-server']);
    const paused = await log.status('redis', 'paused', from);
    expect(paused.message).toMatch(/stopped/i);
    expect(w.monitor.state('redis')?.restarts).toBe(0);
    expect((await sd.exec(['systemctl', 'is-active', 'redis-server'])).output.trim()).toBe('inactive');
  });

  it('systemd://unit health: active is healthy; failed after a crash is down and restarted', async () => {
    const { warden: w, log } = await run({ healthUrl: 'systemd://redis-server.service' });
    expect(w.monitor.state('redis')?.message).toBeDefined();
    const from = log.events.items.length;
    await crash();
    const down = await log.status('redis', 'unhealthy', from);
    expect(down.message).toMatch(/failed \(failed, result signal\)/);
    await log.status('redis', 'healthy', from);
  });

  it('an unknown unit: the restart fails with cause not_found and says which unit', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-systemd-'));
    const cfg = configSchema.parse({ services: [{ name: 'ghost', strategy: 'systemd', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'unused' }] });
    const manager = new SystemdServiceManager({ probes: new ProbeRegistry(), logger: silentLogger(), systemBusAddress: sd.busAddress });
    try {
      const r = await manager.restart(resolveService(cfg, cfg.services[0]!));
      expect(r).toMatchObject({ ok: false, reason: 'systemd unit ghost.service not found (systemctl list-unit-files ghost.service)' });
      const health = await manager.checkHealth(resolveService(cfg, { ...cfg.services[0]!, healthUrl: 'systemd://ghost' }));
      expect(health).toMatchObject({ state: 'down', reason: 'unit ghost.service not found' });
    } finally {
      await manager.close();
    }
  });

  it('a user without a polkit rule is refused: access denied, with the hint', async () => {
    await fs.chmod(sd.busDir, 0o755);
    const script = fileURLToPath(new URL('./restart-as-user.ts', import.meta.url));
    const repo = fileURLToPath(new URL('../../..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, sd.busAddress], { cwd: repo, uid: 65534, gid: 65534, env: { PATH: process.env.PATH ?? '', HOME: '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, err).toBe(0);
    const { restart, doctor } = JSON.parse(out) as { restart: unknown; doctor: unknown };
    expect(restart).toMatchObject({ ok: false, reason: expect.stringMatching(/^systemd: access denied to manage redis-server\.service: allow it with a polkit rule/) });
    // warden doctor, as that user, says the same before anything fails.
    expect(doctor).toMatchObject({ ok: false, message: 'unit redis-server.service is active (running); systemd does not let Warden manage it without a password', fix: expect.stringMatching(/polkit rule/) });
  });
});

describe('warden doctor', () => {
  it('says, per service, whether its strategy can act on it, and what to fix', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-doctor-'));
    await fs.writeFile(path.join(dir, 'start.sh'), '#!/bin/sh\n', { mode: 0o644 });
    const config = configSchema.parse({
      services: [
        { name: 'redis', strategy: 'systemd', unit: 'redis-server.service', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'unused' },
        { name: 'ghost', strategy: 'systemd', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'unused' },
        { name: 'sudoer', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'sudo systemctl restart redis' },
        { name: 'script', healthUrl: 'tcp://127.0.0.1:1', restartCmd: './start.sh --fast' },
        { name: 'missing', healthUrl: 'tcp://127.0.0.1:1', restartCmd: './nope.sh' },
        { name: 'onpath', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'true' },
        { name: 'watched', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null },
        { name: 'boxed', strategy: 'docker', container: 'no-such-container', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'unused' },
      ],
    });
    const findings = await diagnose(config, { logger: silentLogger(), workingDir: dir, env: { PATH: process.env.PATH }, docker: dockerd.docker, systemdBus: { system: sd.busAddress } });
    expect(findings.map((f) => [f.service, f.ok])).toEqual([
      ['redis', true], ['ghost', false], ['sudoer', false], ['script', false], ['missing', false], ['onpath', true], ['watched', true], ['boxed', false],
    ]);
    expect(findings[0]!.message).toBe('unit redis-server.service is active (running); Warden runs as root: systemd lets it restart the unit');
    expect(findings[1]).toMatchObject({ message: 'unit ghost.service not found' });
    expect(findings[2]!.fix).toMatch(/"strategy": "systemd"/);
    expect(findings[3]).toMatchObject({ message: `${path.join(dir, 'start.sh')}: not executable`, fix: `chmod +x ${path.join(dir, 'start.sh')}` });
    expect(findings[4]!.message).toMatch(/nope\.sh: not found/);
    expect(findings[7]).toMatchObject({ message: 'container no-such-container does not exist' });
    expect(formatFindings(findings)).toMatch(/^FAIL {2}ghost \(systemd\): unit ghost\.service not found\n {6}fix: /m);

    // Not taken for root: systemd is asked for a no-op it must authorize (StartUnit on the running unit); root may.
    const [asked] = await diagnose({ ...config, services: [config.services[0]!] }, { logger: silentLogger(), workingDir: dir, env: {}, systemdBus: { system: sd.busAddress }, isRoot: false });
    expect(asked).toMatchObject({ ok: true, message: 'unit redis-server.service is active (running); systemd lets Warden manage it (polkit)' });
  });

  it('the command prints the findings and exits 1 when one cannot be restarted, 0 when all can', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-doctor-'));
    const file = path.join(dir, 'config.json');
    const env = { DBUS_SYSTEM_BUS_ADDRESS: sd.busAddress, PATH: process.env.PATH, HOME: dir };
    await fs.writeFile(file, JSON.stringify({ services: [{ name: 'redis', strategy: 'systemd', unit: 'redis-server.service', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] }));
    const ok = captureIo(env);
    expect(await main(['doctor', '--config', file], ok, new AbortController().signal)).toBe(0);
    expect(ok.out()).toContain('ok    redis (systemd): unit redis-server.service is active');
    await fs.writeFile(file, JSON.stringify({ services: [{ name: 'ghost', strategy: 'systemd', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] }));
    const bad = captureIo(env);
    expect(await main(['doctor', '--config', file, '--json'], bad, new AbortController().signal)).toBe(1);
    expect(JSON.parse(bad.out())).toMatchObject({ findings: [{ service: 'ghost', ok: false }] });
    expect(await main(['doctor', '--config', path.join(dir, 'none.json')], captureIo(env), new AbortController().signal)).toBe(2);
  });
});
