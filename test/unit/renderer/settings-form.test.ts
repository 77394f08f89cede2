import { describe, expect, it } from 'vitest';
import { fieldId, fieldPaths, fromDraft, issuesByPath, newServiceDraft, numberOrText, toDraft } from '../../../src-renderer/components/settings/settings-form.js';
import { defaultConfig, validateConfig } from '../../../src-shared/config-schema.js';

describe('settings form model', () => {
  it('an unedited form saves back exactly the config it was loaded from', () => {
    const config = defaultConfig();
    const withExtras = { ...config, services: [...config.services, { name: 'cache', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null, pidfile: '/run/x.pid', restartWhenStopped: true, resetAfter: 5 }] };
    const round = fromDraft(toDraft(withExtras));
    expect(round).toEqual(withExtras);
    expect(validateConfig(round).ok).toBe(true);
  });

  it('an empty restart command, or the monitor-only box, means null (monitor only)', () => {
    const d = toDraft({ services: [{ name: 'a', healthUrl: 'tcp://h:1', restartCmd: 'x' }] });
    d.services[0]!.restartCmd = '   ';
    expect((fromDraft(d).services as { restartCmd: unknown }[])[0]!.restartCmd).toBeNull();
    d.services[0]!.restartCmd = './start.sh';
    d.services[0]!.monitorOnly = true;
    expect((fromDraft(d).services as { restartCmd: unknown }[])[0]!.restartCmd).toBeNull();
    d.services[0]!.monitorOnly = false;
    expect((fromDraft(d).services as { restartCmd: unknown }[])[0]!.restartCmd).toBe('./start.sh');
  });

  it('numbers are sent as numbers; anything else as typed, for the server to name the field', () => {
    expect(numberOrText('2.5')).toBe(2.5);
    expect(numberOrText(' 10 ')).toBe(10);
    expect(numberOrText('abc')).toBe('abc');
    expect(numberOrText('')).toBe('');
  });

  it('empty workingDir is null; empty per-service overrides are left out; unknown keys pass through', () => {
    const d = toDraft({ ...defaultConfig(), futureKey: 1 });
    d.workingDir = '  ';
    d.services[0]!.timings.healthCheckInterval = '';
    d.services[0]!.timings.serviceMaxRetries = '5';
    const out = fromDraft(d);
    expect(out.workingDir).toBeNull();
    expect(out.futureKey).toBe(1);
    const svc = (out.services as Record<string, unknown>[])[0]!;
    expect(svc).not.toHaveProperty('healthCheckInterval');
    expect(svc.serviceMaxRetries).toBe(5);
  });

  it('a config of the wrong shape gives an empty form instead of a crash', () => {
    const d = toDraft('nonsense');
    expect(d).toMatchObject({ serviceManagerType: 'shell', services: [], notifications: true, host: '', port: '' });
    expect(toDraft({ services: [42] }).services[0]).toMatchObject({ name: '', healthUrl: '', monitorOnly: false });
  });

  it('a new service is blank and monitor only until given a command, with a fresh key', () => {
    const a = newServiceDraft();
    const b = newServiceDraft();
    expect(a).toMatchObject({ name: '', healthUrl: '', restartCmd: '', monitorOnly: true });
    expect(a.key).not.toBe(b.key);
  });

  it('field ids and paths line up with the server issue paths', () => {
    expect(fieldId('services[1].healthUrl')).toBe('field-services-1-healthUrl');
    expect(fieldId('server.port')).toBe('field-server-port');
    const paths = fieldPaths(toDraft(defaultConfig()));
    expect(paths.has('services[2].startupTimeout')).toBe(true);
    expect(paths.has('server.port')).toBe(true);
    expect(paths.has('services[3].name')).toBe(false);
    expect(issuesByPath([{ path: 'a', message: 'x' }, { path: 'a', message: 'y' }, { path: 'b', message: 'z' }])).toEqual(new Map([['a', ['x', 'y']], ['b', ['z']]]));
  });
});
