// Warden killed mid-restart (SIGKILL: OOM killer, power cut): the real `warden serve` process,
// a slow real restart command, and a second Warden that must adopt that command — wait for it,
// or kill its group at its deadline — instead of starting a second restart beside it (§9.1).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupPids, isAlive, killGroup, waitUntil } from '../../helpers/process-tree.js';
import { freePort, standInCommand } from '../../helpers/stand-in.js';

let dir: string;
let env: Record<string, string>;
const cleanup: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-crash-'));
  env = { XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), HOME: dir, PATH: process.env.PATH ?? '' };
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

/** One real `warden serve` process; its JSON log lines, and a way to await one. */
function serve(config: string) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src-main/cli/warden.ts', 'serve', '--config', config, '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  cleanup.push(() => killGroup(child.pid!));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const events = () =>
    out
      .split('\n')
      .filter((l) => l.includes('"msg":"service_status"'))
      .map((l) => (JSON.parse(l) as { event: { status: string; message: string; reason?: string } }).event);
  return { child, exited, events, out: () => out };
}

const lines = async (file: string) => (await fs.readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

async function writeConfig(service: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, 'config.json');
  await fs.writeFile(file, JSON.stringify({ healthCheckInterval: 0.3, serviceBackoffBase: 0.1, failedRetryInterval: 0, services: [{ name: 'svc', ...service }] }));
  return file;
}

describe('Warden killed mid-restart', () => {
  it('the next Warden adopts the restart still running (one start, not two), waits for it, and reports it healthy', async () => {
    const port = await freePort();
    const starts = path.join(dir, 'starts.log');
    const leader = path.join(dir, 'leader.pid');
    const pidfile = path.join(dir, 'svc.pid');
    cleanup.push(async () => {
      const pid = Number((await fs.readFile(pidfile, 'utf8').catch(() => '')).trim());
      if (pid > 1) killGroup(pid);
    });
    // A slow start: it waits for a go file (so the test decides when it ends), then starts a stand-in.
    const go = path.join(dir, 'go');
    const restartCmd = `echo start >> '${starts}'; echo $$ > '${leader}'; while [ ! -e '${go}' ]; do sleep 0.05; done; ${standInCommand({ port, pidfile })}`;
    const config = await writeConfig({ healthUrl: `tcp://127.0.0.1:${port}`, restartCmd, restartTimeout: 60 });

    const first = serve(config);
    const pgid = await waitUntil(async () => Number(await fs.readFile(leader, 'utf8').catch(() => '')), { timeoutMs: 30_000 });
    cleanup.push(() => killGroup(pgid)); // its own group: it outlives its Warden, by design
    const record = path.join(env.XDG_STATE_HOME!, 'warden', 'inflight', 'svc.json');
    // Written as the command is spawned (the command may write its own pid file first).
    expect(await waitUntil(async () => JSON.parse(await fs.readFile(record, 'utf8').catch(() => 'null')))).toMatchObject({ service: 'svc', pgid });
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isAlive(pgid)).toBe(true); // the restart command outlived its Warden

    const second = serve(config);
    const adopted = await waitUntil(() => second.events().find((e) => e.status === 'restarting'), { timeoutMs: 30_000 });
    expect(adopted.message).toMatch(new RegExp(`^Adopted a restart still running from a previous Warden \\(process group ${pgid}, started .*Z\\); waiting for it \\(attempt 1/3\\)$`));
    await fs.writeFile(go, '');
    await waitUntil(() => second.events().some((e) => e.status === 'healthy'), { timeoutMs: 30_000 });
    expect(second.events().map((e) => e.status)).toEqual(['restarting', 'healthy']);
    expect(await lines(starts)).toEqual(['start']);
    await expect(fs.stat(record)).rejects.toThrow(/ENOENT/);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('an adopted restart that runs past its restartTimeout has its whole group killed, and the failure says so', async () => {
    const starts = path.join(dir, 'starts.log');
    const leader = path.join(dir, 'leader.pid');
    const restartCmd = `echo start >> '${starts}'; echo $$ > '${leader}'; sleep 1000 & sleep 1000; wait`;
    const config = await writeConfig({ healthUrl: 'tcp://127.0.0.1:1', restartCmd, restartTimeout: 3, serviceMaxRetries: 1 });

    const first = serve(config);
    const pgid = await waitUntil(async () => Number(await fs.readFile(leader, 'utf8').catch(() => '')), { timeoutMs: 30_000 });
    cleanup.push(() => killGroup(pgid));
    const group = await waitUntil(() => (groupPids(pgid).length >= 3 ? groupPids(pgid) : null));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = serve(config);
    const failed = await waitUntil(() => second.events().find((e) => e.status === 'restart_failed'), { timeoutMs: 30_000 });
    expect(failed.reason).toBe(`timed out (adopted from a previous Warden; process group ${pgid} killed)`);
    for (const pid of group) expect(isAlive(pid)).toBe(false);
    await waitUntil(() => second.events().some((e) => e.status === 'failed'));
    expect(await lines(starts)).toEqual(['start']);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('a record whose command already ended is dropped, and the next Warden restarts as usual', async () => {
    const starts = path.join(dir, 'starts.log');
    const inflight = path.join(env.XDG_STATE_HOME!, 'warden', 'inflight');
    await fs.mkdir(inflight, { recursive: true });
    // A pid that is surely not that command any more (this machine's boot, another start time).
    await fs.writeFile(path.join(inflight, 'svc.json'), JSON.stringify({ service: 'svc', pgid: process.pid, startedAt: 0, deadline: 1, bootId: 'another boot', startTicks: '1' }));
    const config = await writeConfig({ healthUrl: 'tcp://127.0.0.1:1', restartCmd: `echo start >> '${starts}'; exit 1`, serviceMaxRetries: 1 });
    const w = serve(config);
    await waitUntil(() => w.events().some((e) => e.status === 'failed'), { timeoutMs: 30_000 });
    expect(w.events()[0]?.status).toBe('unhealthy');
    expect(await lines(starts)).toEqual(['start']);
    expect(isAlive(process.pid)).toBe(true);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });
});
