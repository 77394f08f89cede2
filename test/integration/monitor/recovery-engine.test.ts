// The recovery engine's reproductions (issue 10), each against real processes and servers: a
// failed service loading after Reset is not probed back to back; two settings saves close
// together end with the last one everywhere; a round stops when a service becomes monitor only;
// Redis's LOADING after a restart shows "starting"; loading/down alternation is restarted;
// Reset during an attempt takes effect; a hung service is looked at once more, not twice.
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type WardenConfig } from '../../../src-shared/config-schema.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { startServer, type RunningServer } from '../../../src-main/core/server/http-server.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { startStandIn } from '../../../src-main/demo/stand-in-service.js';
import { shQuote } from '../../../src-main/demo/shell-words.js';
import { REPO, sandboxesPerTest, sh } from '../../helpers/ai-scripts-sandbox.js';
import { MonitorLog } from '../../helpers/event-log.js';
import { isAlive, killPid } from '../../helpers/process-tree.js';
import { freePort, pollUntil, redisCommands, startRedis } from '../../helpers/redis-server.js';
import { TEST_TOKEN, request } from '../../helpers/server-harness.js';

let dir: string;
let warden: Warden | null = null;
let server: RunningServer | null = null;
const cleanup: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-engine-'));
});
afterEach(async () => {
  await server?.close();
  await warden?.stop();
  server = null;
  warden = null;
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Warden with the real shell strategy over these settings; its config file in the temp dir. */
async function run(input: Record<string, unknown>, opts: { server?: boolean } = {}) {
  const config = configSchema.parse({ healthCheckInterval: 0.3, serviceHealthTimeout: 2, serviceBackoffBase: 0.2, failedRetryInterval: 0, ...input });
  const configFile = path.join(dir, 'config.json');
  await fs.writeFile(configFile, JSON.stringify(config));
  warden = await createWarden(config, { logger: silentLogger(), configFile, dataDir: dir });
  const log = new MonitorLog(warden.monitor);
  if (opts.server) server = await startServer({ warden, host: '127.0.0.1', port: 0, token: TEST_TOKEN, logger: silentLogger(), staticDir: path.join(dir, 'none') });
  warden.start();
  return { warden, log, configFile };
}

const lines = async (file: string) => (await fs.readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

async function listen(handler: Parameters<typeof createServer>[1], port = 0): Promise<Server & { port: number }> {
  const srv = createServer(handler);
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  );
  return Object.assign(srv, { port: (srv.address() as { port: number }).port });
}

describe('no busy loop in any state (CONTRACT §9.2)', () => {
  it('a failed service that starts loading, then Reset, is probed on its interval, not back to back', async () => {
    const port = await freePort();
    const { warden: w, log } = await run({ services: [{ name: 'llm', healthUrl: `http://127.0.0.1:${port}/health`, restartCmd: 'exit 1', serviceMaxRetries: 1, startupTimeout: 300 }] });
    await log.status('llm', 'failed');
    // Something starts llama-server by hand: it answers 503 "Loading model" for minutes.
    const llm = await startStandIn({ port, kind: 'llm', loadSeconds: 300 });
    cleanup.push(() => llm.close());
    const from = log.probes.items.length;
    const before = llm.requests();
    const started = Date.now();
    // Reset at once, while it is still shown failed: the old loop then probed without pause.
    expect(w.monitor.state('llm')?.status).toBe('failed');
    w.monitor.act('llm', 'reset');
    await log.probes.count((p) => p.service === 'llm', 6, from);
    // Six probes take at least five gaps of 250 ms (the old loop made ~300 in half a second).
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(llm.requests() - before).toBeLessThanOrEqual(7);
    expect(w.monitor.state('llm')?.status).toBe('starting');
  });
});

describe('settings apply atomically and in order (CONTRACT §9.4)', () => {
  it('two PUT /api/settings close together, while a removed service is mid-restart: the last one is what the monitor, the API and the file show', async () => {
    const pidFile = path.join(dir, 'restart.pid');
    const { warden: w, log, configFile } = await run(
      { services: [{ name: 'old', healthUrl: 'tcp://127.0.0.1:1', restartCmd: `echo $$ > ${shQuote(pidFile)}; exec sleep 60`, restartTimeout: 120 }] },
      { server: true },
    );
    await log.status('old', 'restarting');
    await pollUntil(async () => (await fs.stat(pidFile).then(() => true).catch(() => undefined)), 'the restart command to start');
    const base = w.settings();
    const first: WardenConfig = { ...base, healthCheckInterval: 5, services: [{ name: 'one', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] };
    const second: WardenConfig = { ...base, healthCheckInterval: 7, services: [{ name: 'two', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] };
    const put = (body: WardenConfig) =>
      request(server!.port, { method: 'PUT', path: '/api/settings', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const [a, b] = await Promise.all([put(first), put(second)]);
    expect([a.status, b.status]).toEqual([200, 200]);

    expect(w.monitor.states().map((s) => s.service)).toEqual(['two']);
    expect(w.config().healthCheckInterval).toBe(7);
    expect(JSON.parse(await fs.readFile(configFile, 'utf8'))).toEqual(second);
    const got = await request(server!.port, { path: '/api/settings', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(got.json()).toEqual(second);

    // The removed service's restart is left to finish; stopping Warden kills its group, and
    // nothing the saves added keeps running.
    const restartPid = Number((await fs.readFile(pidFile, 'utf8')).trim());
    expect(isAlive(restartPid)).toBe(true);
    await server!.close();
    server = null;
    await w.stop();
    warden = null;
    expect(isAlive(restartPid)).toBe(false);
    expect(w.monitor.runner('two')?.machine.phase.kind).toBe('stopped');
    expect(w.monitor.runner('two')?.timerPending).toBe(false);
  });

  it('a service made monitor only during a round is never restarted again', async () => {
    const marks = path.join(dir, 'restarts.log');
    const { warden: w, log } = await run({ services: [{ name: 'svc', healthUrl: 'tcp://127.0.0.1:1', restartCmd: `echo run >> ${shQuote(marks)}; exit 1` }] });
    const failed = await log.status('svc', 'restart_failed');
    expect(failed.message).toBe('Restart attempt 1/3 failed: exit code 1');
    const settings = w.settings();
    const from = log.events.items.length;
    await w.updateConfig({ ...settings, services: [{ ...settings.services[0]!, restartCmd: null }] });
    expect((await log.status('svc', 'unhealthy', from)).message).toBe('Monitor only now: not restarted');
    // The old loop still ran attempts 2 and 3 at +0.6 s and +1.4 s; ten probes take ≥ 2.5 s.
    await log.probes.count((p) => p.service === 'svc', 10, log.probes.items.length);
    expect(await lines(marks)).toEqual(['run']);
    expect(log.events.items.slice(from).map((e) => e.status)).toEqual(['unhealthy']);
  });
});

describe('loading (CONTRACT §9.5, §9.7)', () => {
  it("Redis's LOADING after a restart is shown as starting, then healthy", async () => {
    const first = await startRedis({ extraArgs: ['--enable-debug-command', 'local'] });
    expect(await redisCommands(first.port, [['DEBUG', 'POPULATE', '20000'], ['SAVE']])).toEqual(['+OK', '+OK']);
    const pidfile = path.join(first.dir, 'restarted.pid');
    // The restart loads that dump slowly (200 µs a key): seconds of -LOADING.
    const restartCmd = ['redis-server', '--port', String(first.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidfile, '--dir', first.dir,
      '--key-load-delay', '200', '--loading-process-events-interval-bytes', '1024'].map(shQuote).join(' ');
    cleanup.push(async () => {
      const pid = Number((await fs.readFile(pidfile, 'utf8').catch(() => '')).trim());
      if (pid > 0) killPid(pid);
      await first.stop();
    });
    const { log } = await run({ services: [{ name: 'redis', healthUrl: first.url, restartCmd, startupTimeout: 120 }] });
    await log.status('redis', 'healthy');
    await first.stop({ keepDir: true });
    const healthy = await log.status('redis', 'healthy', 1);
    expect(log.statuses('redis')).toEqual(['healthy', 'unhealthy', 'restarting', 'starting', 'healthy']);
    const starting = log.events.items.find((e) => e.status === 'starting')!;
    expect(starting.message).toMatch(/^Loading after restart \(LOADING Redis is loading the dataset in memory\)/);
    expect(starting.previous).toBe('restarting');
    expect(healthy.message).toBe('Service restarted successfully');
  });

  it('a service that alternates between loading and down is restarted once startupTimeout is spent', async () => {
    let n = 0;
    const srv = await listen((req, res) => {
      if (n++ % 2 === 0) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":503,"message":"Loading model"}}');
      } else req.socket.destroy();
    });
    const { log } = await run({ services: [{ name: 'llm', healthUrl: `http://127.0.0.1:${srv.port}/health`, restartCmd: 'true', startupTimeout: 1 }] });
    const restarting = await log.status('llm', 'restarting');
    expect(restarting.message).toBe('Attempting restart (attempt 1/3)');
    expect(log.statuses('llm').slice(0, 2)).toEqual(['starting', 'unhealthy']);
  });
});

const sandbox = sandboxesPerTest();

describe('manual actions (CONTRACT §9.8)', () => {
  it('"Restart now" on a healthy detector really restarts it: stopCmd, then the start script', async () => {
    const sb = await sandbox('detector');
    const env = Object.entries(sb.env(sb.fakeCmd())).map(([k, v]) => sh(`${k}=${v}`)).join(' ');
    expect((await sb.script('start', sb.fakeCmd())).exitCode).toBe(0);
    const before = (await sb.pidfilePid())!;
    const { warden: w, log } = await run({
      workingDir: REPO,
      services: [{ name: 'rtdetr', healthUrl: `http://127.0.0.1:${sb.port}/health`, restartCmd: `env ${env} ./ai/start_detector.sh`, stopCmd: `env ${env} ./ai/stop_detector.sh` }],
    });
    await log.status('rtdetr', 'healthy');
    expect(w.monitor.act('rtdetr', 'restart')).toMatchObject({ ok: true });
    const restarted = await log.events.next((e) => e.status === 'healthy' && e.previous === 'restarting');
    expect(restarted.message).toBe('Service restarted successfully');
    const after = (await sb.pidfilePid())!;
    expect(after).not.toBe(before);
    expect(isAlive(before)).toBe(false);
    expect(isAlive(after)).toBe(true);
  });

  it('Reset while an attempt runs: that attempt no longer counts and the next one is 1/N', async () => {
    const go = path.join(dir, 'go');
    const restartCmd = `while [ ! -e ${shQuote(go)} ]; do sleep 0.05; done; exit 1`;
    const { warden: w, log } = await run({ services: [{ name: 'svc', healthUrl: 'tcp://127.0.0.1:1', restartCmd, serviceMaxRetries: 1 }] });
    await log.status('svc', 'restarting');
    expect(w.monitor.act('svc', 'reset')).toMatchObject({ ok: true });
    await fs.writeFile(go, '');
    const failed = await log.status('svc', 'restart_failed');
    expect(failed).toMatchObject({ attempt: 0, message: 'Restart failed: exit code 1' });
    const index = log.events.items.indexOf(failed);
    const next = await log.status('svc', 'restarting', index);
    expect(next.message).toBe('Attempting restart (attempt 1/1)');
    await log.status('svc', 'failed');
  });
});

describe('a hung service (CONTRACT §3 step 2 without a second timeout)', () => {
  it('is looked at once more during the backoff, not after it', async () => {
    const hung = await listen(() => undefined); // accepts, never answers
    const { log } = await run({
      services: [{ name: 'svc', healthUrl: `http://127.0.0.1:${hung.port}/health`, restartCmd: 'exit 1', serviceMaxRetries: 1 }],
      serviceHealthTimeout: 2,
      serviceBackoffBase: 2,
    });
    const unhealthy = await log.status('svc', 'unhealthy');
    await log.status('svc', 'restarting');
    // The probe that found it hung, and one fresh look. That look began as the 2 s backoff did
    // (timed to end with it), not after it: the old loop paid a second 2 s timeout here.
    const [, fresh] = log.probes.items.filter((p) => p.service === 'svc');
    expect(fresh?.reason).toBe('timeout after 2000 ms');
    const freshStarted = fresh!.at - fresh!.latencyMs;
    expect(freshStarted).toBeLessThan(unhealthy.at + 2_000);
  });
});

describe('failure causes from real output and logs (CONTRACT §12)', () => {
  it('llama.cpp that does not fit in VRAM, seen in its log after a start that "worked": cuda_oom, the line quoted', async () => {
    const log = path.join(dir, 'llm.log');
    await fs.writeFile(log, 'an earlier run: CUDA out of memory\n'); // before this restart: not its cause
    // The start script returns at once; the server then dies loading, writing to its log.
    const restartCmd = `(sleep 0.2; echo 'llama_model_load: error loading model: failed to fit params to free device memory' >> ${shQuote(log)}) & exit 0`;
    const { log: events } = await run({ services: [{ name: 'llm', healthUrl: 'tcp://127.0.0.1:1', restartCmd, logFile: log, startupTimeout: 1, serviceMaxRetries: 1 }] });
    const failed = await events.status('llm', 'restart_failed');
    expect(failed.cause).toBe('cuda_oom');
    expect(failed.reason).toBe('not healthy within 1 s of restart (connection refused): "llama_model_load: error loading model: failed to fit params to free device memory"');
    expect(await events.status('llm', 'failed')).toMatchObject({ cause: 'cuda_oom' });
  });

  it('a missing GGUF in the restart output fails at once, without backoff rounds', async () => {
    const marks = path.join(dir, 'starts');
    const restartCmd = `echo start >> ${shQuote(marks)}; echo "gguf_init_from_file: failed to open GGUF file '/models/missing.gguf' (No such file or directory)" >&2; exit 1`;
    const { warden: w, log } = await run({ failedRetryInterval: 1, services: [{ name: 'llm', healthUrl: 'tcp://127.0.0.1:1', restartCmd }] });
    const failed = await log.status('llm', 'failed');
    expect(failed).toMatchObject({ cause: 'model_missing', message: 'Not retried: the model file is missing (restarting cannot fix it)' });
    // Ten more probes (≥ 2.5 s, past failedRetryInterval): no new round, one start only.
    await log.probes.count((p) => p.service === 'llm', 10, log.probes.items.length);
    expect(await lines(marks)).toEqual(['start']);
    expect(w.monitor.state('llm')?.lastFailure).toMatchObject({ cause: 'model_missing' });
  });

  it("uvicorn's [Errno 98] is retried once, then fails at once; exit 2 is config; exit 127 is not_found", async () => {
    const { log } = await run({
      services: [
        { name: 'det', healthUrl: 'tcp://127.0.0.1:1', restartCmd: `echo "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8090): address already in use" >&2; exit 1`, serviceMaxRetries: 5 },
        { name: 'cfg', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'echo "start_detector.sh: error: Python not found: RTDETR_PYTHON=python9" >&2; exit 2' },
        { name: 'nf', healthUrl: 'tcp://127.0.0.1:1', restartCmd: './no-such-script.sh' },
      ],
    });
    const det = await log.status('det', 'failed');
    expect(det).toMatchObject({ cause: 'port_in_use', attempt: 2 });
    expect(log.events.items.filter((e) => e.service === 'det' && e.status === 'restarting')).toHaveLength(2);
    expect(await log.status('cfg', 'failed')).toMatchObject({ cause: 'config', attempt: 1 });
    expect((await log.status('cfg', 'restart_failed')).reason).toBe('exit code 2: "start_detector.sh: error: Python not found: RTDETR_PYTHON=python9"');
    expect(await log.status('nf', 'restart_failed')).toMatchObject({ cause: 'not_found' });
  });
});
