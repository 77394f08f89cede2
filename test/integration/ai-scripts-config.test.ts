// ai/start_*.sh configuration: --help, the built-in command lines, model and binary lookup,
// misconfiguration (exit 2, one line), the VRAM check, and timeouts that fit Warden's kill window.
import { describe, expect, it } from 'vitest';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEFAULT_SERVICES } from '../../src-shared/config-schema.js';
import { FIXTURE_BIN, PREFIX, REPO, sandboxesPerTest, healthOf, type Sandbox, type ScriptResult, type Service } from '../helpers/ai-scripts-sandbox.js';

const sandbox = sandboxesPerTest();

const withFixtureBin = (): string => `${FIXTURE_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`;

/** Exit 2, exactly one line on stderr matching re, and nothing started. */
async function expectMisconfigured(sb: Sandbox, r: ScriptResult, re: RegExp): Promise<void> {
  expect(r.exitCode, r.stdout + r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(re);
  expect(existsSync(sb.pidfile)).toBe(false);
  expect(await healthOf(sb.port)).toBe('refused');
}

async function help(script: string): Promise<string> {
  const r = await execa(join(REPO, 'ai', script), ['--help'], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' }, extendEnv: false });
  return r.stdout;
}

function defaultOf(text: string, variable: string): number {
  const m = new RegExp(`^\\s+${variable}\\s.*\\[default: (\\d+)\\]`, 'm').exec(text);
  if (!m) throw new Error(`no default for ${variable} in --help`);
  return Number(m[1]);
}

describe('--help', () => {
  it.each(['start_detector.sh', 'start_nemotron.sh'])('%s --help lists every variable of CONTRACT §7 and the exit codes', async (script) => {
    const text = await help(script);
    const p = script.includes('detector') ? 'RTDETR' : 'NEMOTRON';
    for (const v of ['PORT', 'HOST', 'HEALTH_URL', 'PIDFILE', 'LOG', 'STARTUP_TIMEOUT', 'STOP_GRACE', 'CMD', 'LOG_MAX_BYTES']) {
      expect(text).toMatch(new RegExp(`^  ${p}_${v}\\s`, 'm'));
    }
    expect(text).toMatch(/Exit codes: 0 healthy, 1 not ready .*, 2 misconfiguration/);
  });

  it('start_nemotron.sh --help documents the model search, llama-server lookup, GPU layers, context and VRAM floor', async () => {
    const text = await help('start_nemotron.sh');
    for (const v of ['NEMOTRON_MODEL', 'NEMOTRON_MODEL_DIRS', 'LLAMA_SERVER', 'NEMOTRON_MIN_FREE_VRAM_MB']) expect(text).toMatch(new RegExp(`^  ${v}\\s`, 'm'));
    expect(defaultOf(text, 'NEMOTRON_GPU_LAYERS')).toBe(35);
    expect(defaultOf(text, 'NEMOTRON_CTX')).toBe(12288);
  });

  it.each(['stop_detector.sh', 'stop_nemotron.sh'])('%s --help lists its variables and exit codes', async (script) => {
    const text = await help(script);
    expect(text).toMatch(/_STOP_GRACE\s.*\[default: 10\]/);
    expect(text).toMatch(/Exit codes: 0 stopped or not running/);
  });

  it('rejects an unknown argument with exit 2', async () => {
    const sb = await sandbox('detector');
    const r = await sb.script('start', sb.fakeCmd(), ['--frobnicate']);
    await expectMisconfigured(sb, r, /unknown argument '--frobnicate'/);
  });
});

describe('timeouts fit the monitor kill window', () => {
  it.each([
    ['rtdetr', 'start_detector.sh', 'RTDETR', 120],
    ['nemotron', 'start_nemotron.sh', 'NEMOTRON', 300],
  ] as const)('%s: probe + stop grace + fixed waits + startup timeout < its default restartTimeout', async (name, script, p, startup) => {
    const text = await help(script);
    const service = DEFAULT_SERVICES.find((s) => s.name === name);
    const restartTimeout = service && 'restartTimeout' in service ? service.restartTimeout : undefined;
    expect(restartTimeout).toBeDefined();

    expect(defaultOf(text, `${p}_STARTUP_TIMEOUT`)).toBe(startup);
    const grace = defaultOf(text, `${p}_STOP_GRACE`);
    const worst =
      defaultOf(text, `${p}_HEALTH_TIMEOUT`) +
      grace +
      Number(/(\d+) s after SIGKILL/.exec(text)?.[1]) +
      Number(/(\d+) s for the port to be released/.exec(text)?.[1]) +
      startup;
    expect(grace + startup).toBeLessThan(restartTimeout!);
    expect(worst).toBeLessThan(restartTimeout!);
  });
});

describe('start_nemotron.sh: the built-in llama-server command', () => {
  it('finds llama-server on PATH and the first *nemotron*.gguf in NEMOTRON_MODEL_DIRS; runs -ngl 35 -c 12288 --parallel 2 --cont-batching', async () => {
    const sb = await sandbox('nemotron');
    const empty = join(sb.dir, 'empty');
    const models = join(sb.dir, 'models');
    await mkdir(empty);
    await mkdir(models);
    await writeFile(join(models, 'README.gguf'), '');
    await writeFile(join(models, 'Nemotron-3-Nano-30B-A3B-Q4_K_M.gguf'), '');
    await writeFile(join(models, 'nemotron-mini-4b.gguf'), '');
    const r = await sb.script('start', { PATH: withFixtureBin(), NEMOTRON_MODEL_DIRS: `${empty}:${models}` });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await sb.readLog()).toContain(
      `fake llama-server argv: -m ${models}/Nemotron-3-Nano-30B-A3B-Q4_K_M.gguf --host 127.0.0.1 --port ${sb.port} -ngl 35 -c 12288 --parallel 2 --cont-batching\n`,
    );
    // The fake nvidia-smi on PATH reports 24000 MiB: logged before the start.
    expect(r.stdout).toMatch(/free VRAM before start: 24000 MiB/);
  });

  it('uses LLAMA_SERVER, NEMOTRON_MODEL, NEMOTRON_GPU_LAYERS and NEMOTRON_CTX when set', async () => {
    const sb = await sandbox('nemotron');
    const model = join(sb.dir, 'my model.gguf');
    await writeFile(model, '');
    const r = await sb.script('start', {
      LLAMA_SERVER: join(FIXTURE_BIN, 'llama-server'),
      NEMOTRON_MODEL: model,
      NEMOTRON_GPU_LAYERS: '99',
      NEMOTRON_CTX: '4096',
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await sb.readLog()).toContain(`-m ${model} --host 127.0.0.1 --port ${sb.port} -ngl 99 -c 4096 --parallel 2`);
  });

  it('exits 2 with one line when llama-server is neither LLAMA_SERVER nor on PATH', async () => {
    const sb = await sandbox('nemotron');
    const model = join(sb.dir, 'nemotron.gguf');
    await writeFile(model, '');
    const r = await sb.script('start', { NEMOTRON_MODEL: model });
    await expectMisconfigured(sb, r, /llama-server not found: set LLAMA_SERVER or put llama-server on PATH/);
    const r2 = await sb.script('start', { NEMOTRON_MODEL: model, LLAMA_SERVER: '/nonexistent/llama-server' });
    await expectMisconfigured(sb, r2, /tried '\/nonexistent\/llama-server'/);
  });

  it('exits 2 with one line when NEMOTRON_MODEL names a missing file', async () => {
    const sb = await sandbox('nemotron');
    const r = await sb.script('start', { PATH: withFixtureBin(), NEMOTRON_MODEL: '/nonexistent/nemotron.gguf' });
    await expectMisconfigured(sb, r, /model file not found: NEMOTRON_MODEL=\/nonexistent\/nemotron\.gguf/);
  });

  it('exits 2 with one line naming the searched folders when no model is found', async () => {
    const sb = await sandbox('nemotron');
    const r = await sb.script('start', { PATH: withFixtureBin() });
    await expectMisconfigured(sb, r, new RegExp(`no Nemotron model: set NEMOTRON_MODEL or put a \\*nemotron\\*\\.gguf in one of .*${sb.dir}/models`));
  });

  it('exits 2 for a malformed number (NEMOTRON_GPU_LAYERS, NEMOTRON_STARTUP_TIMEOUT)', async () => {
    const sb = await sandbox('nemotron');
    const model = join(sb.dir, 'nemotron.gguf');
    await writeFile(model, '');
    const r = await sb.script('start', { PATH: withFixtureBin(), NEMOTRON_MODEL: model, NEMOTRON_GPU_LAYERS: 'all' });
    await expectMisconfigured(sb, r, /NEMOTRON_GPU_LAYERS must be a whole number \(got 'all'\)/);
    const r2 = await sb.script('start', { ...sb.fakeCmd(), NEMOTRON_STARTUP_TIMEOUT: '5m' });
    await expectMisconfigured(sb, r2, /NEMOTRON_STARTUP_TIMEOUT must be a whole number >= 1 \(got '5m'\)/);
  });
});

describe('_CMD', () => {
  it('is a shell command line: ~ and $NEMOTRON_PORT expand, quoting works', async () => {
    const sb = await sandbox('nemotron');
    await mkdir(join(sb.dir, 'bin'));
    await symlink(join(FIXTURE_BIN, 'llama-server'), join(sb.dir, 'bin', 'llama-server'));
    const r = await sb.script('start', { NEMOTRON_CMD: `~/bin/llama-server -m 'a model.gguf' --port "$NEMOTRON_PORT"` });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await sb.readLog()).toContain(`fake llama-server argv: -m a model.gguf --port ${sb.port}\n`);
  });
});

describe('start_nemotron.sh: free VRAM', () => {
  it('refuses with exit 2 when nvidia-smi reports less free VRAM than NEMOTRON_MIN_FREE_VRAM_MB', async () => {
    const sb = await sandbox('nemotron');
    const r = await sb.script('start', {
      ...sb.fakeCmd(),
      PATH: withFixtureBin(),
      FAKE_VRAM_FREE_MB: '1000',
      NEMOTRON_MIN_FREE_VRAM_MB: '8000',
    });
    await expectMisconfigured(sb, r, /not enough free VRAM: 1000 MiB < NEMOTRON_MIN_FREE_VRAM_MB=8000/);
    expect(r.stdout).toMatch(/free VRAM before start: 1000 MiB/);
  });

  it('counts the free VRAM of every GPU (llama.cpp splits layers over them) and starts when it is enough', async () => {
    const sb = await sandbox('nemotron');
    const r = await sb.script('start', {
      ...sb.fakeCmd(),
      PATH: withFixtureBin(),
      FAKE_VRAM_FREE_MB: '5000,4000',
      NEMOTRON_MIN_FREE_VRAM_MB: '8000',
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/free VRAM before start: 9000 MiB/);
  });

  it('starts without a VRAM check where there is no nvidia-smi, saying so when a floor is set', async () => {
    const sb = await sandbox('nemotron');
    const r = await sb.script('start', { ...sb.fakeCmd(), NEMOTRON_MIN_FREE_VRAM_MB: '8000' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nvidia-smi not found: cannot check NEMOTRON_MIN_FREE_VRAM_MB/);
  });
});

describe('start_detector.sh: the built-in Python command', () => {
  it('runs $RTDETR_PYTHON -m $RTDETR_MODULE with RTDETR_HOST/RTDETR_PORT set and the repo on PYTHONPATH', async () => {
    const sb = await sandbox('detector');
    const r = await sb.script('start', { RTDETR_PYTHON: join(FIXTURE_BIN, 'fake-python'), RTDETR_MODULE: 'fake_detector' });
    expect(r.exitCode, r.stderr).toBe(0);
    const log = await sb.readLog();
    expect(log).toContain(`fake python argv: -m fake_detector (PYTHONPATH=${REPO.replace(/\/$/, '')})`);
    expect(log).toContain(`listening on http://127.0.0.1:${sb.port}`);
  });

  it('exits 2 with one line when RTDETR_PYTHON does not exist', async () => {
    const sb = await sandbox('detector');
    const r = await sb.script('start', { RTDETR_PYTHON: '/nonexistent/python3' });
    await expectMisconfigured(sb, r, /Python not found: RTDETR_PYTHON=\/nonexistent\/python3/);
  });

  it('exits 2 with one line when RTDETR_MODULE cannot be found', async () => {
    const sb = await sandbox('detector');
    const r = await sb.script('start', { RTDETR_PYTHON: join(FIXTURE_BIN, 'fake-python'), RTDETR_MODULE: 'no_such_detector' });
    await expectMisconfigured(sb, r, /Python module not found: RTDETR_MODULE=no_such_detector/);
  });

  it('exits 2 with one line when the program of RTDETR_CMD does not exist', async () => {
    const sb = await sandbox('detector');
    const r = await sb.script('start', { RTDETR_CMD: '/nonexistent/detector --port 1' });
    await expectMisconfigured(sb, r, /RTDETR_CMD: command not found: \/nonexistent\/detector/);
  });

  it.each(Object.keys(PREFIX) as Service[])('%s: with nothing configured but HOME, pidfile and log go to ~/.local/state/warden', async (service) => {
    const sb = await sandbox(service);
    const p = PREFIX[service];
    const env = sb.env(sb.fakeCmd());
    delete env[`${p}_PIDFILE`];
    delete env[`${p}_LOG`];
    const run = execa(join(REPO, 'ai', `start_${service}.sh`), [], { env, extendEnv: false, reject: false, detached: true });
    sb.groups.add(run.pid!);
    const r = await run;
    const name = service === 'detector' ? 'rtdetr' : 'nemotron';
    const pidfile = join(sb.dir, '.local/state/warden', `${name}.pid`);
    expect(r.exitCode, r.stderr).toBe(0);
    sb.groups.add(Number(await readFile(pidfile, 'utf8')));
    expect(existsSync(join(sb.dir, '.local/state/warden', `${name}.log`))).toBe(true);
    const stop = await execa(join(REPO, 'ai', `stop_${service}.sh`), [], { env, extendEnv: false, reject: false });
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(existsSync(pidfile)).toBe(false);
  });
});
