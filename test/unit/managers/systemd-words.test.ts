// The systemd strategy's pure parts (CONTRACT §13): unit state as health, a deliberate stop, errors in words.
import { describe, expect, it } from 'vitest';
import { explain, judgeUnit, stoppedOnPurpose, type UnitState } from '../../../src-main/core/managers/systemd-service-manager.js';
import { firstRunConfig } from '../../../src-main/core/config/config-file.js';
import { parseHealthUrl } from '../../../src-shared/health-url.js';
import { validateConfig } from '../../../src-shared/config-schema.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const unit = (activeState: string, subState: string, result = 'success', loadState = 'loaded'): UnitState => ({ loadState, activeState, subState, result });

describe('systemd unit state', () => {
  it('active (or reloading) is up, activating is loading, failed and inactive are down', () => {
    expect(judgeUnit(unit('active', 'running'), 'redis.service')).toEqual({ state: 'up', reason: 'active (running)' });
    expect(judgeUnit(unit('reloading', 'reload'), 'r')).toMatchObject({ state: 'up' });
    expect(judgeUnit(unit('activating', 'start'), 'r')).toEqual({ state: 'loading', reason: 'activating (start)' });
    expect(judgeUnit(unit('failed', 'failed', 'signal'), 'r')).toEqual({ state: 'down', reason: 'failed (failed, result signal)' });
    expect(judgeUnit(unit('inactive', 'dead'), 'r')).toEqual({ state: 'down', reason: 'inactive (dead): stopped with systemctl stop', stoppedOnPurpose: true });
    expect(judgeUnit(unit('inactive', 'dead', '', 'not-found'), 'ghost.service')).toEqual({ state: 'down', reason: 'unit ghost.service not found' });
  });

  it('a job in progress says what happens: a stop job is on purpose, a start or restart job is coming back', () => {
    expect(judgeUnit({ ...unit('deactivating', 'stop-sigterm'), jobType: 'stop' }, 'r')).toEqual({ state: 'down', reason: 'deactivating (stop-sigterm): being stopped with systemctl stop', stoppedOnPurpose: true });
    expect(judgeUnit({ ...unit('deactivating', 'stop-sigterm'), jobType: 'restart' }, 'r')).toEqual({ state: 'loading', reason: 'deactivating (stop-sigterm): a restart job is running' });
    expect(judgeUnit({ ...unit('inactive', 'dead'), jobType: 'start' }, 'r')).toMatchObject({ state: 'loading' });
    expect(stoppedOnPurpose({ ...unit('inactive', 'dead'), jobType: 'start' })).toBe(false);
  });

  it('only an inactive unit whose last run succeeded was stopped on purpose', () => {
    expect(stoppedOnPurpose(unit('inactive', 'dead', 'success'))).toBe(true);
    expect(stoppedOnPurpose(unit('inactive', 'dead', 'exit-code'))).toBe(false);
    expect(stoppedOnPurpose(unit('failed', 'failed', 'signal'))).toBe(false);
    expect(stoppedOnPurpose(unit('deactivating', 'stop-sigterm'))).toBe(false);
  });

  it('says what a D-Bus error means: unit not found, access denied with the polkit hint, bus not reachable', () => {
    expect(explain(Object.assign(new Error('Unit x.service not found.'), { type: 'org.freedesktop.systemd1.NoSuchUnit' }), 'x.service')).toBe('systemd unit x.service not found (systemctl list-unit-files x.service)');
    expect(explain(Object.assign(new Error('Access denied'), { type: 'org.freedesktop.DBus.Error.AccessDenied' }), 'redis-server.service')).toMatch(/^systemd: access denied to manage redis-server\.service: allow it with a polkit rule/);
    expect(explain(Object.assign(new Error('Interactive authentication required.'), { type: 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired' }), 'u')).toMatch(/^systemd: access denied/);
    expect(explain(Object.assign(new Error('connect ENOENT /run/dbus/system_bus_socket'), { code: 'ENOENT' }), 'u')).toBe('systemd D-Bus not reachable: connect ENOENT /run/dbus/system_bus_socket');
    expect(explain(new Error('Job type restart is not applicable'), 'u')).toBe('systemd: Job type restart is not applicable');
  });
});

describe('systemd in the config', () => {
  it('systemd://unit health: ".service" when no type is given; a bad name is refused', () => {
    expect(parseHealthUrl('systemd://redis-server')).toEqual({ scheme: 'systemd', unit: 'redis-server.service' });
    expect(parseHealthUrl('systemd://getty@tty1.service')).toEqual({ scheme: 'systemd', unit: 'getty@tty1.service' });
    expect(() => parseHealthUrl('systemd://')).toThrow('systemd:// needs a unit name (systemd://redis-server.service)');
  });

  it('a per-service strategy; systemd:// and docker:// need theirs; bad values name the field', () => {
    const svc = (extra: object) => ({ name: 's', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null, ...extra });
    expect(validateConfig({ services: [svc({ strategy: 'systemd', unit: 'redis-server.service', bus: 'system' }), svc({ name: 't', strategy: 'docker', healthUrl: 'docker://t' })] }).ok).toBe(true);
    const r = validateConfig({ services: [svc({ healthUrl: 'systemd://redis' }), svc({ name: 't', healthUrl: 'docker://t', strategy: 'shell' }), svc({ name: 'u', strategy: 'k8s', unit: 'a b', bus: 'session' })] });
    expect(r.ok ? [] : r.issues).toEqual(expect.arrayContaining([
      { path: 'services[0].healthUrl', message: 'systemd:// health needs the systemd strategy ("strategy": "systemd")' },
      { path: 'services[1].healthUrl', message: 'docker:// health needs the docker strategy ("strategy": "docker", or "serviceManagerType": "docker")' },
      { path: 'services[2].strategy', message: 'must be "shell", "docker" or "systemd"' },
      { path: 'services[2].unit', message: 'must be a unit name such as "redis-server.service"' },
      { path: 'services[2].bus', message: 'must be "system" or "user"' },
    ]));
  });

  it('a first run restarts Redis through systemd when redis-server.service is installed, else keeps the design’s command', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'units-'));
    try {
      const booted = dir; // stands for /run/systemd/system
      expect(firstRunConfig([dir], booted).services[0]).toMatchObject({ name: 'redis', restartCmd: 'sudo systemctl restart redis' });
      expect(firstRunConfig([dir], booted).services[0]!.strategy).toBeUndefined();
      fs.writeFileSync(path.join(dir, 'redis-server.service'), '[Unit]\n');
      expect(firstRunConfig(['/nonexistent', dir], booted).services[0]).toMatchObject({ name: 'redis', strategy: 'systemd', unit: 'redis-server.service' });
      expect(firstRunConfig([dir], booted).services[1]!.strategy).toBeUndefined();
      // Not booted with systemd (a container, WSL): the design's command.
      expect(firstRunConfig([dir], path.join(dir, 'no-systemd')).services[0]!.strategy).toBeUndefined();
      // Masked: a link to /dev/null.
      const masked = fs.mkdtempSync(path.join(os.tmpdir(), 'units-'));
      fs.symlinkSync('/dev/null', path.join(masked, 'redis-server.service'));
      expect(firstRunConfig([masked], booted).services[0]!.strategy).toBeUndefined();
      fs.rmSync(masked, { recursive: true, force: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
