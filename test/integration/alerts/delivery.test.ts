// Durable delivery (CONTRACT §15) with real processes and a real receiver on loopback: a receiver
// that is down for 20 s while a service fails gets its alerts once it is back; Warden SIGKILLed with
// an alert queued delivers it after a restart, with the same id; no alert arrives twice under two ids.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { httpReceiver } from '../../helpers/alert-receivers.js';
import { isAlive, killGroup, waitUntil } from '../../helpers/process-tree.js';
import { freePort } from '../../helpers/stand-in.js';

let dir: string;
let warden: Warden | null = null;
const cleanup: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-delivery-'));
});
afterEach(async () => {
  await warden?.stop();
  warden = null;
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

/** A service that is down and whose restart fails at once: unhealthy, then failed. */
const failing = { name: 'rtdetr', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'echo "model file missing" >&2; exit 1', serviceMaxRetries: 1, serviceBackoffBase: 0 };
const outboxFiles = async (data: string) => (await fs.readdir(path.join(data, 'outbox')).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));

describe('durable delivery', () => {
  it('a receiver down for 20 s while a service fails gets every alert once it is back, each under its own id', async () => {
    const receiver = await httpReceiver();
    cleanup.push(() => receiver.stop());
    await receiver.stop(); // the outage begins
    const config = configSchema.parse({ healthCheckInterval: 0.3, failedRetryInterval: 0, services: [failing], alerts: { channels: [{ type: 'webhook', url: `${receiver.url}/hook` }] } });
    const data = path.join(dir, 'data');
    // One alert per service per second instead of per minute, so the story fits in the test.
    warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: data, alertOptions: { limits: { windowMs: 1000 } } });
    warden.start();
    const status = () => warden!.alerts.status().channels[0]!;
    await waitUntil(() => warden!.alerts.status().recent.some((a) => a.kind === 'failed'), { timeoutMs: 20_000 });
    // Written before it was sent; the failed attempts are told per channel.
    await waitUntil(async () => (await outboxFiles(data)).length === 2);
    // An entry is counted once its file is written: the second file may be on disk a moment before.
    await waitUntil(() => status().lastError !== null && status().queued === 2);
    expect(status()).toMatchObject({ queued: 2, lastDelivery: null, lastError: { message: expect.stringMatching(/ECONNREFUSED|connect/) } });

    await new Promise((resolve) => setTimeout(resolve, 20_000 - 3000)); // the rest of the 20 s outage
    await receiver.start();
    await waitUntil(() => receiver.received.length >= 2, { timeoutMs: 60_000 });
    await waitUntil(async () => status().queued === 0 && (await outboxFiles(data)).length === 0);
    const sent = warden.alerts.status().recent;
    const got = receiver.received.map((r) => ({ id: r.headers['x-warden-alert-id'], body: JSON.parse(r.body) as { id: string; title: string } }));
    expect(got.map((g) => g.body.title).sort()).toEqual(['rtdetr failed', 'rtdetr is unhealthy']);
    expect(got.every((g) => g.id === g.body.id)).toBe(true);
    expect(new Set(got.map((g) => g.id))).toEqual(new Set(sent.map((a) => a.id)));
    expect(status()).toMatchObject({ queued: 0, lastDelivery: { alertId: expect.any(String) } });
  }, 90_000);

  it('Warden SIGKILLed with an alert queued delivers it after a restart, with the same id, once', async () => {
    const port = await freePort();
    const cfgFile = path.join(dir, 'config.json');
    const env = { XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), HOME: dir, PATH: process.env.PATH ?? '' };
    const data = path.join(dir, 'state', 'warden');
    const write = (services: object[]) => fs.writeFile(cfgFile, JSON.stringify({ healthCheckInterval: 0.3, failedRetryInterval: 0, services, alerts: { channels: [{ type: 'webhook', url: `http://127.0.0.1:${port}/hook` }] } }));
    const serve = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src-main/cli/warden.ts', 'serve', '--config', cfgFile, '--port', '0'], { env, stdio: 'ignore', detached: true });
      cleanup.push(async () => killGroup(child.pid!, 'SIGKILL'));
      return child;
    };
    await write([failing]);
    const first = serve();
    // The receiver is not there yet: the first alert waits in the outbox.
    const [queued] = await waitUntil(async () => {
      const files = await outboxFiles(data);
      return files.length > 0 ? files : null;
    }, { timeoutMs: 30_000 });
    const entry = JSON.parse(await fs.readFile(path.join(data, 'outbox', queued!), 'utf8')) as { alert: { id: string; title: string } };
    killGroup(first.pid!, 'SIGKILL');
    await waitUntil(() => !isAlive(first.pid!));

    // Back up, now healthy (so it raises nothing new), and the receiver is listening.
    const live = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => live.close(resolve)));
    const receiver = await httpReceiver(port);
    cleanup.push(() => receiver.stop());
    await write([{ ...failing, healthUrl: `tcp://127.0.0.1:${(live.address() as net.AddressInfo).port}` }]);
    serve();
    await waitUntil(() => receiver.received.some((r) => r.headers['x-warden-alert-id'] === entry.alert.id), { timeoutMs: 30_000 });
    await waitUntil(async () => (await outboxFiles(data)).length === 0, { timeoutMs: 10_000 });
    const ids = receiver.received.map((r) => JSON.parse(r.body) as { id: string; title: string });
    // Every alert that arrived was one the first Warden queued: none under a second id.
    const byTitle = new Map<string, Set<string>>();
    for (const a of ids) byTitle.set(a.title, (byTitle.get(a.title) ?? new Set()).add(a.id));
    expect([...byTitle.values()].every((set) => set.size === 1)).toBe(true);
    expect(ids.some((a) => a.id === entry.alert.id && a.title === entry.alert.title)).toBe(true);
  }, 90_000);
});
