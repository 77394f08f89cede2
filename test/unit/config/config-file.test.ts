import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig, resolveService, validateConfig } from '../../../src-shared/config-schema.js';
import { ConfigError, firstRunConfig, loadConfig, parseConfigText, saveConfig } from '../../../src-main/core/config/config-file.js';
import { configDir, configPath, dataDir } from '../../../src-main/core/config/paths.js';
import { envPrefix } from '../../../src-main/core/config/env-overrides.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-config-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const svc = (extra: Record<string, unknown> = {}) => ({ name: 'svc', healthUrl: 'http://127.0.0.1:8090/health', restartCmd: './x.sh', ...extra });

describe('defaults (CONTRACT §1)', () => {
  it('are the design seed values with the three services', () => {
    const c = defaultConfig();
    expect(c).toMatchObject({
      serviceManagerType: 'shell',
      healthCheckInterval: 15,
      serviceHealthTimeout: 5,
      serviceMaxRetries: 3,
      serviceBackoffBase: 5,
      restartTimeout: 60,
      startupTimeout: 120,
      resetAfter: 60,
      failedRetryInterval: 600,
      workingDir: null,
      server: { host: '127.0.0.1', port: 8765 },
    });
    expect(c.services.map((s) => [s.name, s.healthUrl, s.restartCmd, s.container])).toEqual([
      ['redis', 'redis://127.0.0.1:6379', 'sudo systemctl restart redis', 'redis'],
      ['rtdetr', 'http://127.0.0.1:8090/health', './ai/start_detector.sh', 'rtdetr'],
      ['nemotron', 'http://127.0.0.1:8091/health', './ai/start_nemotron.sh', 'nemotron'],
    ]);
    expect(c.services[2]?.startupTimeout).toBe(300);
    // llama-server's /health can say ok while completions hang: the LLM gets a 1-token deep check (CONTRACT §14).
    expect(c.services.map((s) => s.deepCheck?.preset)).toEqual([undefined, undefined, 'llama-completion']);
  });

  it('fold into each service, with per-service overrides winning and container defaulting to the name', () => {
    const c = parseConfigText('c.json', JSON.stringify({ serviceBackoffBase: 2, services: [svc({ serviceMaxRetries: 5 })] }));
    expect(resolveService(c, c.services[0]!)).toMatchObject({ serviceBackoffBase: 2, serviceMaxRetries: 5, healthCheckInterval: 15, container: 'svc', restartWhenStopped: false });
  });
});

describe('validation names the file and every bad field', () => {
  const bad = (input: unknown) => {
    try {
      parseConfigText('/etc/x/config.json', JSON.stringify(input));
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('rejects a bad URL with the contract wording', () => {
    expect(bad({ services: [svc(), svc({ name: 'b', healthUrl: 'ftp://x' })] })).toBe(
      'config.json: services[1].healthUrl: must be http(s)://, redis://, tcp://host:port, docker://container or systemd://unit',
    );
  });

  it('rejects unknown keys, duplicate names, negative times and bad names, all at once', () => {
    const msg = bad({ colour: 'red', healthCheckInterval: -1, services: [svc({ extra: 1 }), svc(), svc({ name: 'Bad Name' })] });
    expect(msg.split('\n')).toEqual(
      expect.arrayContaining([
        'config.json: colour: unknown key',
        'config.json: healthCheckInterval: must be greater than 0 (seconds)',
        'config.json: services[0].extra: unknown key',
        'config.json: services[1].name: duplicate name "svc" (also services[0])',
        'config.json: services[2].name: must match ^[a-z][a-z0-9_-]{0,31}$',
      ]),
    );
  });

  it('dependsOn: names every unknown or self dependency and each cycle once, from the first service in it (CONTRACT §14)', () => {
    const msg = bad({
      services: [
        svc({ name: 'a', dependsOn: ['b'] }),
        svc({ name: 'b', dependsOn: ['c', 'nope'] }),
        svc({ name: 'c', dependsOn: ['a'] }),
        svc({ name: 'd', dependsOn: ['d', 'a'] }),
        svc({ name: 'e', dependsOn: 'redis' }),
      ],
    });
    expect(msg.split('\n').sort()).toEqual([
      'config.json: services[0].dependsOn: dependency cycle: a → b → c → a',
      'config.json: services[1].dependsOn[1]: unknown service "nope"',
      'config.json: services[3].dependsOn[0]: "d" cannot depend on itself',
      'config.json: services[4].dependsOn: must be a list of service names',
    ]);
    const ok = parseConfigText('c.json', JSON.stringify({ services: [svc({ name: 'redis' }), svc({ name: 'rtdetr', dependsOn: ['redis'] }), svc({ name: 'nemotron', dependsOn: ['redis', 'rtdetr'] })] }));
    expect(ok.services.map((s) => s.dependsOn)).toEqual([undefined, ['redis'], ['redis', 'rtdetr']]);
  });

  it('deepCheck: names each bad field, and a preset or path on a server that is not HTTP (CONTRACT §14)', () => {
    const msg = bad({
      services: [
        svc({ name: 'a', deepCheck: {} }),
        svc({ name: 'b', deepCheck: { url: 'completion', method: 'PUT' } }),
        svc({ name: 'c', deepCheck: { url: '/x', body: {}, file: { path: 'f.jpg' } } }),
        svc({ name: 'd', deepCheck: { url: '/x', method: 'GET', body: { a: 1 } } }),
        svc({ name: 'e', deepCheck: { preset: 'llama-completion', model: 'm', body: {} } }),
        svc({ name: 'f', deepCheck: { preset: 'vllm', expect: { status: 99, extra: 1 } } }),
        svc({ name: 'g', healthUrl: 'redis://127.0.0.1:6379', deepCheck: { preset: 'openai-chat' } }),
        svc({ name: 'h', deepCheck: 'yes' }),
        svc({ name: 'i', deepCheck: { preset: 'llama-completion', timeout: 600 } }),
        svc({ name: 'j', deepCheck: { preset: 'llama-completion', method: 'GET' } }),
        svc({ name: 'k', deepCheck: { url: '/detect', file: { path: 'a.jpg', field: 'file' }, headers: { 'Content-Type': 'image/jpeg' } } }),
        svc({ name: 'l', deepCheck: { preset: 'llama-completion', interval: 1e9, timeout: 1e9 } }),
      ],
    });
    expect(msg.split('\n').sort()).toEqual([
      'config.json: services[0].deepCheck.url: needs a preset ("llama-completion", "openai-chat") or a url',
      'config.json: services[10].deepCheck.headers: a multipart upload sets its own content-type (with its boundary): leave it out',
      'config.json: services[11].deepCheck.interval: must be at most a week (604800 s)',
      'config.json: services[11].deepCheck.timeout: must be at most an hour (3600 s)',
      'config.json: services[1].deepCheck.method: must be "GET" or "POST"',
      'config.json: services[1].deepCheck.url: must be an http(s) URL or a path starting with "/"',
      'config.json: services[2].deepCheck.file: use body or file, not both',
      'config.json: services[3].deepCheck.method: a GET sends no body (use POST)',
      'config.json: services[4].deepCheck.body: a preset sends its own body (leave the preset out for a request of your own)',
      'config.json: services[4].deepCheck.model: only with the "openai-chat" preset',
      'config.json: services[5].deepCheck.expect.extra: unknown key',
      'config.json: services[5].deepCheck.expect.status: must be 100–599',
      'config.json: services[5].deepCheck.preset: must be "llama-completion" or "openai-chat"',
      'config.json: services[6].deepCheck.url: needs a full http(s) URL: the health URL is not an HTTP one',
      'config.json: services[7].deepCheck: must be an object: {"preset": "llama-completion"} or {"url": …, "expect": …}',
      'config.json: services[8].deepCheck.timeout: must not be longer than interval',
      'config.json: services[9].deepCheck.method: a GET sends no body (use POST)',
    ]);
    const ok = parseConfigText('c.json', JSON.stringify({ services: [svc({ healthUrl: 'redis://127.0.0.1:6379', deepCheck: { url: 'http://127.0.0.1:9/ready' } })] }));
    expect(ok.services[0]!.deepCheck).toEqual({ url: 'http://127.0.0.1:9/ready', interval: 300, timeout: 30 });
  });

  it('alerts: names each bad channel field (CONTRACT §15)', () => {
    const msg = bad({
      alerts: {
        minSeverity: 'info',
        repeatAfter: -5,
        channels: [
          { type: 'pager' },
          { type: 'ntfy', url: 'https://ntfy.sh/', token: 'a', tokenFile: '/t' },
          { type: 'webhook', url: 'ftp://x', secret: 's', secretFile: '/s' },
          { type: 'smtp', host: 'h', from: 'a@b', to: [], passwordFile: '/p' },
          { type: 'apprise', urls: [] },
          { type: 'apprise', name: 'x', urls: ['not-a-url'] },
          { type: 'webhook', name: 'x', url: 'http://127.0.0.1/h' },
        ],
      },
    });
    expect(msg.split('\n').sort()).toEqual([
      'config.json: alerts.channels[0].type: must be a channel: {"type": "webhook" | "ntfy" | "smtp" | "apprise", …}',
      'config.json: alerts.channels[1].url: must end in a topic: "https://ntfy.sh/warden-home"',
      'config.json: alerts.channels[2].url: must be an http(s) URL',
      'config.json: alerts.channels[3].to: must list at least one address',
      'config.json: alerts.channels[4].urls: must list at least one URL',
      'config.json: alerts.channels[5].urls[0]: must be an Apprise URL such as "tgram://token/chat"',
      'config.json: alerts.minSeverity: must be "warning" or "error"',
      'config.json: alerts.repeatAfter: must be 0 or more (seconds)',
    ]);
    const pairs = bad({ alerts: { channels: [{ type: 'ntfy', url: 'https://ntfy.sh/t', token: 'a', tokenFile: '/t' }, { type: 'webhook', url: 'http://h/x', secret: 's', secretFile: '/s' }, { type: 'smtp', host: 'h', from: 'a@b', to: 'c@d', passwordFile: '/p' }, { type: 'ntfy', name: 'n', url: 'https://ntfy.sh/a' }, { type: 'ntfy', name: 'n', url: 'https://ntfy.sh/b' }] } });
    expect(pairs.split('\n').sort()).toEqual([
      'config.json: alerts.channels[0].tokenFile: use token or tokenFile, not both',
      'config.json: alerts.channels[1].secretFile: use secret or secretFile, not both',
      'config.json: alerts.channels[2].user: is required with passwordFile',
      'config.json: alerts.channels[4].name: duplicate name "n" (also channels[3])',
    ]);
    const twins = bad({ alerts: { channels: [{ type: 'webhook', url: 'http://h/x' }, { type: 'webhook', url: 'http://h/x', headers: { A: 'b' } }, { type: 'webhook', name: 'third', url: 'http://h/x' }] } });
    expect(twins).toBe('config.json: alerts.channels[1].name: delivers where channels[0] does: give one of them a name');
    expect(defaultConfig().alerts).toEqual({ channels: [], minSeverity: 'warning', repeatAfter: 0 });
  });

  it('says what is missing and what has the wrong type', () => {
    const msg = bad({ serviceMaxRetries: 1.5, serviceManagerType: 'k8s', services: [{ name: 'a' }] });
    expect(msg).toContain('serviceMaxRetries: must be a whole number');
    expect(msg).toContain('serviceManagerType: must be "shell", "docker" or "systemd"');
    expect(msg).toContain('services[0].healthUrl: is required (a health URL)');
    expect(msg).toContain('services[0].restartCmd: is required (a shell command, or null for monitor only)');
    expect(validateConfig({ services: [svc({ healthUrl: 42 })] })).toMatchObject({ ok: false, issues: [{ path: 'services[0].healthUrl', message: 'must be a health URL' }] });
  });

  it('rejects malformed JSON', () => {
    expect(() => parseConfigText('/a/config.json', '{"services": [')).toThrow(/^config\.json: \(file\): not valid JSON/);
  });

  it('accepts every probe scheme and null for monitor only', () => {
    const urls = ['https://h/health', 'redis://:pw@127.0.0.1:6379/0', 'tcp://127.0.0.1:22', 'docker://redis'];
    const c = parseConfigText('c.json', JSON.stringify({ serviceManagerType: 'docker', services: urls.map((u, i) => svc({ name: `s${i}`, healthUrl: u, restartCmd: null })) }));
    expect(c.services).toHaveLength(4);
  });

  it('refuses docker:// health under the shell strategy (it could never be checked)', () => {
    expect(bad({ services: [svc({ healthUrl: 'docker://redis' })] })).toBe('config.json: services[0].healthUrl: docker:// health needs the docker strategy ("strategy": "docker", or "serviceManagerType": "docker")');
  });
});

describe('environment overrides', () => {
  it('apply over the file, per service with the upper-cased name', () => {
    const env = {
      WARDEN_SERVICE_MANAGER_TYPE: 'docker',
      WARDEN_HEALTH_CHECK_INTERVAL: '2.5',
      WARDEN_SERVICE_HEALTH_TIMEOUT: '1',
      WARDEN_SERVICE_MAX_RETRIES: '7',
      WARDEN_SERVICE_BACKOFF_BASE: '0.5',
      WARDEN_MY_SVC_RESTART_CMD: './other.sh',
      WARDEN_MY_SVC_HEALTH_URL: 'tcp://127.0.0.1:9',
      WARDEN_B_RESTART_CMD: '',
    };
    const c = parseConfigText('c.json', JSON.stringify({ services: [svc({ name: 'my-svc' }), svc({ name: 'b' })] }), env);
    expect(c).toMatchObject({ serviceManagerType: 'docker', healthCheckInterval: 2.5, serviceHealthTimeout: 1, serviceMaxRetries: 7, serviceBackoffBase: 0.5 });
    expect(c.services[0]).toMatchObject({ restartCmd: './other.sh', healthUrl: 'tcp://127.0.0.1:9' });
    expect(c.services[1]?.restartCmd).toBeNull();
    expect(envPrefix('my-svc')).toBe('WARDEN_MY_SVC_');
  });

  it('apply to the default services when the file lists none', () => {
    const c = parseConfigText('config.json', '{}', { WARDEN_REDIS_HEALTH_URL: 'tcp://127.0.0.1:7000', WARDEN_RTDETR_RESTART_CMD: '' });
    expect(c.services.find((s) => s.name === 'redis')?.healthUrl).toBe('tcp://127.0.0.1:7000');
    expect(c.services.find((s) => s.name === 'rtdetr')?.restartCmd).toBeNull();
  });

  it('name the per-service variable when its value is bad', () => {
    expect(() => parseConfigText('config.json', '{}', { WARDEN_NEMOTRON_HEALTH_URL: 'gopher://x' })).toThrow(
      'environment: WARDEN_NEMOTRON_HEALTH_URL: must be http(s)://, redis://, tcp://host:port, docker://container or systemd://unit',
    );
  });

  it('name the variable when its value is not a number, and are checked by the schema', () => {
    expect(() => parseConfigText('config.json', '{}', { WARDEN_HEALTH_CHECK_INTERVAL: 'soon' })).toThrow('environment: WARDEN_HEALTH_CHECK_INTERVAL: must be a number (got "soon")');
    expect(() => parseConfigText('c.json', '{}', { WARDEN_SERVICE_MANAGER_TYPE: 'k8s' })).toThrow('environment: WARDEN_SERVICE_MANAGER_TYPE: must be "shell", "docker" or "systemd"');
  });

  it('leave a non-object file to the schema to reject', () => {
    expect(() => parseConfigText('config.json', '[]', { WARDEN_HEALTH_CHECK_INTERVAL: '1' })).toThrow('config.json: (root): must be a JSON object');
    expect(() => parseConfigText('config.json', '{"services":[7]}', { WARDEN_HEALTH_CHECK_INTERVAL: '1' })).toThrow(/services\[0\]/);
  });
});

describe('files', () => {
  it('creates the config with the defaults on first run', async () => {
    const file = path.join(dir, 'warden', 'config.json');
    const loaded = await loadConfig(file, { env: {} });
    expect(loaded.created).toBe(true);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual(firstRunConfig());
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await loadConfig(file, { env: {} })).created).toBe(false);
  });

  it('throws on a bad file for the CLI and leaves it untouched', async () => {
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, '{"healthCheckInterval": -3}');
    await expect(loadConfig(file, { env: {} })).rejects.toThrow('config.json: healthCheckInterval: must be greater than 0 (seconds)');
    expect(await fs.readFile(file, 'utf8')).toBe('{"healthCheckInterval": -3}');
  });

  it('moves a corrupt file aside for the tray app and runs on defaults', async () => {
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, '{not json');
    const loaded = await loadConfig(file, { env: {}, onInvalid: 'quarantine', now: () => new Date('2026-11-28T10:00:00.000Z') });
    expect(loaded.quarantinedTo).toBe(`${file}.bad-2026-11-28T10-00-00-000Z`);
    expect(await fs.readFile(loaded.quarantinedTo!, 'utf8')).toBe('{not json');
    expect(loaded.quarantineError?.message).toContain('not valid JSON');
    expect(loaded.config).toEqual(firstRunConfig());
  });

  it('keeps the file apart from the environment: fileConfig is what a settings save writes back', async () => {
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, JSON.stringify({ healthCheckInterval: 30 }));
    const loaded = await loadConfig(file, { env: { WARDEN_HEALTH_CHECK_INTERVAL: '2' } });
    expect(loaded.config.healthCheckInterval).toBe(2);
    expect(loaded.fileConfig.healthCheckInterval).toBe(30);
  });

  it('never moves a good file aside because of a bad environment variable (tray app)', async () => {
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, JSON.stringify({ healthCheckInterval: 30 }));
    const loaded = await loadConfig(file, { env: { WARDEN_HEALTH_CHECK_INTERVAL: 'abc' }, onInvalid: 'quarantine' });
    expect(loaded.quarantinedTo).toBeUndefined();
    expect(loaded.envError?.message).toBe('environment: WARDEN_HEALTH_CHECK_INTERVAL: must be a number (got "abc")');
    expect(loaded.config.healthCheckInterval).toBe(30);
    expect(await fs.readdir(dir)).toEqual(['config.json']);
    await expect(loadConfig(file, { env: { WARDEN_HEALTH_CHECK_INTERVAL: 'abc' } })).rejects.toThrow('WARDEN_HEALTH_CHECK_INTERVAL');
  });

  it('reports an unreadable file as a config error', async () => {
    await expect(loadConfig(dir, { env: {} })).rejects.toThrow(/cannot read/);
  });

  it('saves atomically, leaving no temp files behind', async () => {
    const file = path.join(dir, 'config.json');
    await saveConfig(file, defaultConfig());
    await saveConfig(file, { ...defaultConfig(), healthCheckInterval: 3 });
    expect(await fs.readdir(dir)).toEqual(['config.json']);
    expect(JSON.parse(await fs.readFile(file, 'utf8')).healthCheckInterval).toBe(3);
  });
});

describe('paths (XDG)', () => {
  it('follow XDG variables with the home-folder defaults', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/x/cfg' })).toBe('/x/cfg/warden');
    expect(configDir({ HOME: '/home/u' })).toBe('/home/u/.config/warden');
    expect(dataDir({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/warden');
    expect(dataDir({ HOME: '/home/u' })).toBe('/home/u/.local/state/warden');
    expect(configPath('rel.json', {})).toBe(path.resolve('rel.json'));
    expect(configPath(undefined, { WARDEN_CONFIG: '/e/c.json' })).toBe('/e/c.json');
    expect(configPath(undefined, { HOME: '/home/u' })).toBe('/home/u/.config/warden/config.json');
  });
});
