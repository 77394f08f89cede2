// ai/start_*.sh and ai/stop_*.sh against real stand-in servers: starting, idempotence, the states
// an existing instance can be in, stopping whole process groups, and the log.
import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  FAKE_SERVER,
  sandboxesPerTest,
  ageOf,
  healthOf,
  isAlive,
  liveGroupMembers,
  pgidOf,
  sidOf,
  stdoutMatches,
  waitUntil,
} from '../helpers/ai-scripts-sandbox.js';

const sandbox = sandboxesPerTest();

const startHeaders = (log: string): number => log.split('\n').filter((l) => / start_\w+\.sh: starting: /.test(l)).length;
const childPidIn = (log: string): number => Number(/forked child pid=(\d+)/.exec(log)?.[1]);

describe('start: a fresh start', () => {
  it('starts the server detached in its own session, writes the pidfile and exits 0 once /health is healthy', async () => {
    const sb = await sandbox('detector');
    const r = await sb.script('start', sb.fakeCmd('--bind-after-load --load-seconds 1'));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/is ready/);
    const pid = await sb.pidfilePid();
    expect(pid).toBeDefined();
    expect(isAlive(pid!)).toBe(true);
    // setsid: session and group leader, so the monitor's kill of the script never reaches it.
    expect(sidOf(pid!)).toBe(pid);
    expect(pgidOf(pid!)).toBe(pid);
    expect(await healthOf(sb.port)).toBe(200);
  });

  it('is idempotent: a second call on a healthy service starts nothing (same pid, one start in the log)', async () => {
    const sb = await sandbox('nemotron');
    expect((await sb.script('start', sb.fakeCmd())).exitCode).toBe(0);
    const first = await sb.pidfilePid();
    const again = await sb.script('start', sb.fakeCmd());
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/already healthy.*nothing to do/);
    expect(await sb.pidfilePid()).toBe(first);
    expect(startHeaders(await sb.readLog())).toBe(1);
  });

  it('--force replaces a healthy instance (a manual restart): the old group is gone, a new server answers', async () => {
    const sb = await sandbox('detector');
    expect((await sb.script('start', sb.fakeCmd())).exitCode).toBe(0);
    const first = (await sb.pidfilePid())!;
    const forced = await sb.script('start', sb.fakeCmd(), ['--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/--force: replacing the running instance/);
    const second = (await sb.pidfilePid())!;
    expect(second).not.toBe(first);
    expect(liveGroupMembers(first)).toEqual([]);
    expect(isAlive(second)).toBe(true);
    expect(startHeaders(await sb.readLog())).toBe(2);
    expect(await healthOf(sb.port)).toBe(200);
  });

  it('--force also replaces an instance that is still loading, and only start takes it', async () => {
    const sb = await sandbox('nemotron');
    const loading = await sb.script('start', { ...sb.fakeCmd('--load-seconds 60'), NEMOTRON_STARTUP_TIMEOUT: '1' });
    expect(loading.exitCode).toBe(1);
    const first = (await sb.pidfilePid())!;
    const forced = await sb.script('start', sb.fakeCmd(), ['--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(liveGroupMembers(first)).toEqual([]);
    expect((await sb.script('stop', {}, ['--force'])).exitCode).toBe(2);
  });

  it('removes a stale pidfile (the pid of a dead process) and starts a new server', async () => {
    const sb = await sandbox('detector');
    const dead = await sb.spawnOwn(['-e', ''], false);
    await new Promise((r) => dead.once('exit', r));
    await writeFile(sb.pidfile, `${dead.pid}\n`);
    const r = await sb.script('start', sb.fakeCmd());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removing stale pidfile/);
    const pid = await sb.pidfilePid();
    expect(pid).not.toBe(dead.pid);
    expect(isAlive(pid!)).toBe(true);
  });

  it('never signals a live pid in the pidfile that is not a server it started (a reused pid)', async () => {
    const sb = await sandbox('detector');
    // A process in the test runner's own group: not a session leader, as a reused pid would be.
    const bystander = await sb.spawnOwn(['-e', 'setInterval(() => {}, 1 << 30)'], false);
    await writeFile(sb.pidfile, `${bystander.pid}\n`);
    const r = await sb.script('start', sb.fakeCmd());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(isAlive(bystander.pid!)).toBe(true);
    expect(await sb.pidfilePid()).not.toBe(bystander.pid);
  });

  it('stops a foreign process that holds the port (not in the pidfile) and starts its own server', async () => {
    const sb = await sandbox('nemotron');
    const foreign = await sb.spawnOwn(
      ['-e', `require('http').createServer((q, s) => { s.writeHead(404); s.end(); }).listen(${sb.port}, '127.0.0.1', () => console.log('listening'))`],
      true,
      /listening/,
    );
    expect(await healthOf(sb.port)).toBe(404);
    const r = await sb.script('start', sb.fakeCmd());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/not healthy \(HTTP 404\): replacing it/);
    expect(liveGroupMembers(foreign.pid!)).toEqual([]);
    expect(await sb.pidfilePid()).not.toBe(foreign.pid);
    expect(await healthOf(sb.port)).toBe(200);
  });

  it('exits 1 with the crash reason from the log when the server dies at start, and removes the pidfile', async () => {
    const sb = await sandbox('nemotron');
    const r = await sb.script('start', sb.fakeCmd('--crash-at-start'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/exited with status 1 before it was ready/);
    expect(r.stderr).toMatch(/--- last lines of .*nemotron\.log ---/);
    expect(r.stderr).toMatch(/failed to fit params to free device memory/);
    expect(existsSync(sb.pidfile)).toBe(false);
  });
});

describe('start: an instance that is already there', () => {
  it('waits for a llama-server that is loading (503) instead of starting a second copy', async () => {
    const sb = await sandbox('nemotron');
    const ready = join(sb.dir, 'ready');
    const cmd = sb.fakeCmd(`--ready-file '${ready}'`);
    const first = sb.spawnScript('start', cmd);
    await waitUntil(async () => (await healthOf(sb.port)) === 503, 'the first server to answer 503 Loading');
    const pid = await sb.pidfilePid();

    const second = sb.spawnScript('start', cmd);
    await stdoutMatches(second, /is still starting \(HTTP 503\b.*waiting up to/);
    await writeFile(ready, '');

    const [r1, r2] = await Promise.all([first, second]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(`is ready (pid ${pid},`);
    expect(await sb.pidfilePid()).toBe(pid);
    expect(startHeaders(await sb.readLog())).toBe(1);
  });

  it('waits for a detector that is loading its model before binding (pid alive, connection refused)', async () => {
    const sb = await sandbox('detector');
    const ready = join(sb.dir, 'ready');
    const cmd = sb.fakeCmd(`--bind-after-load --ready-file '${ready}'`);
    const first = sb.spawnScript('start', cmd);
    const pid = await waitUntil(() => sb.pidfilePid(), 'the pidfile');
    expect(await healthOf(sb.port)).toBe('refused');

    const second = sb.spawnScript('start', cmd);
    await stdoutMatches(second, /is still starting \(connection refused, .*waiting up to/);
    await writeFile(ready, '');

    const [r1, r2] = await Promise.all([first, second]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(await sb.pidfilePid()).toBe(pid);
    expect(startHeaders(await sb.readLog())).toBe(1);
  });

  it('replaces a hung instance (no answer within _HEALTH_TIMEOUT), SIGKILLing it when it ignores SIGTERM', async () => {
    const sb = await sandbox('nemotron');
    const hung = await sb.script('start', { ...sb.fakeCmd('--hang --ignore-term'), NEMOTRON_STARTUP_TIMEOUT: '2', NEMOTRON_HEALTH_TIMEOUT: '1' });
    expect(hung.exitCode).toBe(1);
    const old = await sb.pidfilePid();
    expect(isAlive(old!)).toBe(true);

    const r = await sb.script('start', { ...sb.fakeCmd(), NEMOTRON_STOP_GRACE: '1', NEMOTRON_HEALTH_TIMEOUT: '1' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/not healthy \(no answer within 1 s\): replacing it/);
    expect(r.stdout).toMatch(/sending SIGKILL/);
    expect(liveGroupMembers(old!)).toEqual([]);
    expect(await sb.pidfilePid()).not.toBe(old);
    expect(await healthOf(sb.port)).toBe(200);
  });

  it('treats a degraded detector (200, status "degraded", model_loaded false) as failed at once, and a later call replaces it', async () => {
    const sb = await sandbox('detector');
    const first = await sb.script('start', sb.fakeCmd('--degraded'));
    // No point waiting out the startup timeout: a detector whose model failed to load stays so.
    expect(first.exitCode).toBe(1);
    expect(first.stderr).toMatch(/answers but its model did not load \(HTTP 200, status "degraded", model_loaded false\)/);
    const old = await sb.pidfilePid();
    const r = await sb.script('start', sb.fakeCmd());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/not healthy \(HTTP 200, status "degraded", model_loaded false\): replacing it/);
    expect(liveGroupMembers(old!)).toEqual([]);
  });

  it('on timeout exits 1 with the log tail and leaves the server; a later call replaces it once it has loaded for longer than the timeout', async () => {
    const sb = await sandbox('nemotron');
    const never = join(sb.dir, 'never');
    const r1 = await sb.script('start', { ...sb.fakeCmd(`--ready-file '${never}'`), NEMOTRON_STARTUP_TIMEOUT: '3' });
    expect(r1.exitCode).toBe(1);
    expect(r1.stderr).toMatch(/not ready after 3 s \(last check: HTTP 503\).*left running/);
    expect(r1.stderr).toMatch(/--- last lines of .*nemotron\.log ---\n[\s\S]*fake-model-server\[\d+\] listening on[\s\S]*--- end of log ---/);
    const old = (await sb.pidfilePid())!;
    expect(await healthOf(sb.port)).toBe(503);

    await waitUntil(() => ageOf(old) >= 9, 'the loading server to be older than the next timeout');
    const r2 = await sb.script('start', { ...sb.fakeCmd(), NEMOTRON_STARTUP_TIMEOUT: '8' });
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/has been starting for \d+ s, longer than NEMOTRON_STARTUP_TIMEOUT: replacing it/);
    expect(liveGroupMembers(old)).toEqual([]);
  });
});

describe('stop', () => {
  it('stops the whole process group (a forked child too), removes the pidfile and frees the port', async () => {
    const sb = await sandbox('detector');
    expect((await sb.script('start', sb.fakeCmd('--fork-child'))).exitCode).toBe(0);
    const pid = (await sb.pidfilePid())!;
    const child = childPidIn(await sb.readLog());
    expect(pgidOf(child)).toBe(pid);

    const r = await sb.script('stop');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(`SIGTERM to process group(s) ${pid}`);
    expect(r.stdout).not.toMatch(/SIGKILL/);
    expect(liveGroupMembers(pid)).toEqual([]);
    expect(isAlive(child)).toBe(false);
    expect(existsSync(sb.pidfile)).toBe(false);
    expect(await healthOf(sb.port)).toBe('refused');
  });

  it('SIGKILLs a group that ignores SIGTERM after _STOP_GRACE: no process of the group survives', async () => {
    const sb = await sandbox('nemotron');
    expect((await sb.script('start', sb.fakeCmd('--ignore-term --fork-child'))).exitCode).toBe(0);
    const pid = (await sb.pidfilePid())!;
    const child = childPidIn(await sb.readLog());

    const r = await sb.script('stop', { NEMOTRON_STOP_GRACE: '1' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/still running after 1 s: sending SIGKILL/);
    expect(await sb.readLog()).toMatch(/ignoring SIGTERM/);
    expect(liveGroupMembers(pid)).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(child)).toBe(false);
  });

  it('exits 0 when nothing is running, and removes a stale pidfile', async () => {
    const sb = await sandbox('nemotron');
    await writeFile(sb.pidfile, '999999999\n');
    const r = await sb.script('stop');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/is not running/);
    expect(existsSync(sb.pidfile)).toBe(false);
  });

  it('also stops whatever holds the port when there is no pidfile', async () => {
    const sb = await sandbox('detector');
    const holder = await sb.spawnOwn([FAKE_SERVER, '--mode', 'detector', '--port', String(sb.port)], true, /listening/);
    const r = await sb.script('stop');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(liveGroupMembers(holder.pid!)).toEqual([]);
    expect(await healthOf(sb.port)).toBe('refused');
  });
});

describe('the log', () => {
  it('is appended, never truncated: earlier content and every start stay in it', async () => {
    const sb = await sandbox('detector');
    await sb.writeLog('line from an earlier run\n');
    expect((await sb.script('start', sb.fakeCmd())).exitCode).toBe(0);
    expect((await sb.script('stop')).exitCode).toBe(0);
    expect((await sb.script('start', sb.fakeCmd())).exitCode).toBe(0);
    const log = await sb.readLog();
    expect(log.startsWith('line from an earlier run\n')).toBe(true);
    expect(startHeaders(log)).toBe(2);
    expect(log).toMatch(/SIGTERM: exiting/);
  });

  it('is rotated at start when larger than _LOG_MAX_BYTES: the old log moves to .1, .1 to .2', async () => {
    const sb = await sandbox('nemotron');
    const big = `previous run\n${'x'.repeat(2000)}\n`;
    await sb.writeLog(big);
    await sb.writeLog('the run before that\n', '.1');
    const r = await sb.script('start', { ...sb.fakeCmd(), NEMOTRON_LOG_MAX_BYTES: '1000' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(`nemotron.log (${Buffer.byteLength(big)} bytes) to ${sb.log}.1`);
    expect(await sb.readLog('.1')).toBe(big);
    expect(await sb.readLog('.2')).toBe('the run before that\n');
    const log = await sb.readLog();
    expect(log).not.toMatch(/previous run/);
    expect(startHeaders(log)).toBe(1);
  });
});
