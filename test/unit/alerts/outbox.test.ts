// The durable outbox (CONTRACT §15) on a real folder: written before it is sent, removed once
// delivered, retried with backoff, read back after a restart, corrupt files kept aside.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertOutbox, retryDelay } from '../../../src-main/core/alerts/outbox.js';
import type { Alert } from '../../../src-main/core/alerts/policy.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { systemClock } from '../../../src-main/core/monitor/clock.js';
import { waitUntil } from '../../helpers/process-tree.js';

let dir: string;
let boxes: AlertOutbox[];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-outbox-'));
  boxes = [];
});
afterEach(async () => {
  await Promise.all(boxes.map((b) => b.close()));
  await fs.rm(dir, { recursive: true, force: true });
});

const alert = (id: string, at = '2026-12-02T03:00:00.000Z'): Alert => ({ id, kind: 'problem', severity: 'warning', service: 'rtdetr', title: `alert ${id}`, body: 'b', at });
const files = async () => (await fs.readdir(path.join(dir, 'outbox')).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));

/** An outbox whose deliveries are recorded and answered by `answer` (throw = not delivered). */
function outbox(opts: { answer?: (channel: string, a: Alert) => Promise<void> | void; known?: (c: string) => boolean } = {}) {
  const delivered: { channel: string; id: string }[] = [];
  const box = new AlertOutbox({
    dir: path.join(dir, 'outbox'),
    clock: systemClock,
    logger: silentLogger(),
    deliver: async (channel, a) => {
      await opts.answer?.(channel, a);
      delivered.push({ channel, id: a.id });
    },
    known: opts.known ?? (() => true),
  });
  boxes.push(box);
  return { box, delivered };
}

describe('AlertOutbox', () => {
  it('retries 1 s, doubling, at most 5 min', () => {
    expect([1, 2, 3, 4, 9, 10, 30].map(retryDelay)).toEqual([1000, 2000, 4000, 8000, 256_000, 300_000, 300_000]);
  });

  it('writes each (alert, channel) before sending, and removes it once delivered', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { box, delivered } = outbox({ answer: () => gate });
    await box.load();
    await box.enqueue(alert('a1'), ['ntfy', 'mail']);
    expect(await files()).toHaveLength(2); // on disk while the receivers have not answered
    expect(box.queued('ntfy')).toBe(1);
    release();
    await waitUntil(async () => delivered.length === 2 && (await files()).length === 0);
    expect(delivered.map((d) => d.channel).sort()).toEqual(['mail', 'ntfy']);
  });

  it('a failed delivery is retried with the same alert, and what a stopped outbox left is delivered by the next one', async () => {
    let fail = true;
    const first = outbox({ answer: () => {
      if (fail) throw new Error('HTTP 503');
    } });
    await first.box.load();
    await first.box.enqueue(alert('a1'), ['hook']);
    await waitUntil(async () => JSON.parse(await fs.readFile(path.join(dir, 'outbox', (await files())[0]!), 'utf8')).attempts === 1);
    await first.box.close();
    fail = false;
    const second = outbox();
    await second.box.load();
    await waitUntil(() => second.delivered.length === 1);
    expect(second.delivered).toEqual([{ channel: 'hook', id: 'a1' }]);
    await waitUntil(async () => (await files()).length === 0);
  });

  it('an alert queued while the previous queue is still read is delivered once, not twice', async () => {
    const { box, delivered } = outbox();
    const loading = box.load();
    await box.enqueue(alert('a1'), ['hook']);
    await loading;
    await waitUntil(() => delivered.length === 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toEqual([{ channel: 'hook', id: 'a1' }]);
  });

  it('an unreadable file is kept aside, and one for a channel that is gone is dropped', async () => {
    await fs.mkdir(path.join(dir, 'outbox'));
    await fs.writeFile(path.join(dir, 'outbox', '2026-bad.json'), '{"half": ');
    await fs.writeFile(path.join(dir, 'outbox', '2026-gone.json'), JSON.stringify({ alert: alert('g1'), channel: 'removed', queuedAt: 1, attempts: 2, lastError: 'x' }));
    const { box, delivered } = outbox({ known: (c) => c !== 'removed' });
    await box.load();
    const left = await fs.readdir(path.join(dir, 'outbox'));
    expect(left.filter((n) => n.startsWith('2026-bad.json.bad-'))).toHaveLength(1);
    expect(left).not.toContain('2026-gone.json');
    expect(delivered).toEqual([]);
  });

  it('forget drops what waits for a removed channel, also a retry being written, and its file never comes back', async () => {
    let known = true;
    const { box } = outbox({ answer: () => Promise.reject(new Error('down')), known: () => known });
    await box.load();
    await box.enqueue(alert('a1'), ['hook']);
    await waitUntil(async () => (await files()).length === 1 && box.queued('hook') === 1);
    known = false;
    await box.forget('hook');
    expect(box.queued('hook')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await files()).toEqual([]);
  });

  it('one delivery at a time per channel, oldest first', async () => {
    const order: string[] = [];
    let inFlight = 0;
    let most = 0;
    const { box } = outbox({ answer: async (_c, a) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(a.id);
      inFlight--;
    } });
    await box.load();
    await Promise.all([box.enqueue(alert('a1', '2026-12-02T03:00:00.000Z'), ['hook']), box.enqueue(alert('a2', '2026-12-02T03:00:01.000Z'), ['hook']), box.enqueue(alert('a3', '2026-12-02T03:00:02.000Z'), ['hook'])]);
    await waitUntil(() => order.length === 3);
    expect(most).toBe(1);
    expect(order).toEqual(['a1', 'a2', 'a3']);
  });
});
