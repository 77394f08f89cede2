import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';
import { EventJournal } from '../../../src-main/core/journal/event-journal.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-journal-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const H = 3600_000;
function ev(service: string, status: ServiceStatusValue, at: number, message = status): ServiceStatusEvent {
  return { type: 'service_status', service, status, message, timestamp: new Date(at).toISOString(), attempt: 0, maxAttempts: 3, nextRetryAt: null, latencyMs: null, previous: null };
}

describe('event journal', () => {
  it('appends one JSON line per event and serves history per service, newest last', async () => {
    const j = await EventJournal.open(dir, { logger: silentLogger() });
    await j.append(ev('a', 'unhealthy', 1000));
    await j.append(ev('b', 'healthy', 1500));
    await j.append(ev('a', 'healthy', 2000));
    const lines = (await fs.readFile(path.join(dir, 'events.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).status)).toEqual(['unhealthy', 'healthy', 'healthy']);
    expect(j.history('a').map((e) => e.status)).toEqual(['unhealthy', 'healthy']);
    expect(j.history('a', 1).map((e) => e.status)).toEqual(['healthy']);
    expect(j.history('nope')).toEqual([]);
  });

  it('reloads what an earlier run wrote, skipping a torn last line', async () => {
    const first = await EventJournal.open(dir, { logger: silentLogger() });
    await first.append(ev('a', 'failed', 1000));
    await fs.appendFile(path.join(dir, 'events.jsonl'), '{"type":"service_st');
    const second = await EventJournal.open(dir, { logger: silentLogger() });
    expect(second.history('a').map((e) => e.status)).toEqual(['failed']);
    // The next event starts on a line of its own, never glued onto the torn tail.
    await second.append(ev('a', 'healthy', 2000));
    const third = await EventJournal.open(dir, { logger: silentLogger() });
    expect(third.history('a').map((e) => e.status)).toEqual(['failed', 'healthy']);
    expect((await fs.readFile(path.join(dir, 'events.jsonl'), 'utf8')).split('\n').at(-2)).toMatch(/"status":"healthy"/);
  });

  it('rotates by size, keeps a bounded number of generations, and still loads them all', async () => {
    const j = await EventJournal.open(dir, { logger: silentLogger(), maxBytes: 600, keep: 2 });
    for (let i = 0; i < 30; i++) await j.append(ev('a', i % 2 ? 'healthy' : 'unhealthy', i * 1000));
    const files = (await fs.readdir(dir)).sort();
    expect(files).toEqual(['events.1.jsonl', 'events.2.jsonl', 'events.jsonl']);
    for (const f of files) expect((await fs.stat(path.join(dir, f))).size).toBeLessThanOrEqual(600);
    const reopened = await EventJournal.open(dir, { logger: silentLogger(), maxBytes: 600, keep: 2 });
    const times = reopened.history('a', 1000).map((e) => Date.parse(e.timestamp));
    expect(times.at(-1)).toBe(29_000);
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it('keeps only the newest events per service in memory', async () => {
    const j = await EventJournal.open(dir, { logger: silentLogger(), perService: 3 });
    for (let i = 0; i < 5; i++) await j.append(ev('a', 'healthy', i));
    expect(j.history('a', 10).map((e) => Date.parse(e.timestamp))).toEqual([2, 3, 4]);
  });

  it('warns once per outage, counts what it could not write, keeps it in memory, and says when it can write again', async () => {
    const warnings: unknown[] = [];
    const infos: string[] = [];
    const logger = silentLogger();
    logger.warn = ((obj: unknown) => void warnings.push(obj)) as typeof logger.warn;
    logger.info = ((_obj: unknown, msg: string) => void infos.push(msg)) as typeof logger.info;
    const j = await EventJournal.open(dir, { logger });
    await fs.rm(dir, { recursive: true });
    await fs.writeFile(dir, 'not a folder'); // appendFile now fails with ENOTDIR
    await j.append(ev('a', 'failed', 1));
    await j.append(ev('a', 'healthy', 2));
    expect(warnings).toHaveLength(1);
    expect(j.dropped).toBe(2);
    expect(j.history('a')).toHaveLength(2);
    await fs.rm(dir);
    await fs.mkdir(dir);
    await j.append(ev('a', 'failed', 3));
    expect(infos).toEqual(['journal: writable again']);
    expect(j.dropped).toBe(2);
  });

  it('computes uptime over 24 h from status segments, leaving out unknown and paused time', async () => {
    const j = await EventJournal.open(dir, { logger: silentLogger() });
    const now = 48 * H;
    await j.append(ev('a', 'healthy', 10 * H)); // before the window: carries in
    await j.append(ev('a', 'unhealthy', 30 * H));
    await j.append(ev('a', 'healthy', 36 * H));
    await j.append(ev('a', 'paused', 42 * H));
    await j.append(ev('a', 'healthy', 45 * H));
    const u = j.uptime('a', now);
    // Known: 24..42 (18 h) + 45..48 (3 h) = 21 h; up: 24..30 + 36..42 + 45..48 = 15 h.
    expect(u.ratio).toBeCloseTo(15 / 21, 6);
    expect(u.buckets).toHaveLength(24);
    expect(u.buckets[0]).toBe(1);
    expect(u.buckets[6]).toBe(0); // 30..31 h
    expect(u.buckets[18]).toBeNull(); // 42..43 h paused
    expect(j.uptime('none', now)).toEqual({ ratio: null, buckets: new Array(24).fill(null) });
  });

  it('ignores events stamped after "now" for uptime', async () => {
    const j = await EventJournal.open(dir, { logger: silentLogger() });
    await j.append(ev('a', 'healthy', 1 * H));
    await j.append(ev('a', 'failed', 5 * H));
    expect(j.uptime('a', 3 * H, 2 * H, 2)).toEqual({ ratio: 1, buckets: [1, 1] });
  });
});
