// The event journal on a real, tiny tmpfs that fills up (CONTRACT §10): an append that fails part
// way is cut back to its last whole line, dropped events are counted and warned about once, and
// once space returns the next event starts on a line boundary — also after a reopen.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { EventJournal } from '../../../src-main/core/journal/event-journal.js';
import { WardenMetrics } from '../../../src-main/core/server/metrics.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-fulldisk-'));
  // Root only (CI runs as root, as the Docker suites need): a 64 KiB file system of our own.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
});
afterEach(async () => {
  execFileSync('umount', [dir]);
  await fs.rm(dir, { recursive: true, force: true });
});

const ev = (n: number, message = `event ${n}`): ServiceStatusEvent => ({
  type: 'service_status',
  service: 'rtdetr',
  status: n % 2 ? 'unhealthy' : 'healthy',
  message,
  timestamp: new Date(1_000 * n).toISOString(),
  attempt: 0,
  maxAttempts: 3,
  nextRetryAt: null,
  latencyMs: null,
  previous: null,
});

/** Fill the file system until the kernel says ENOSPC. */
async function fill(file: string): Promise<void> {
  await fs.writeFile(file, Buffer.alloc(1024 * 1024, 1)).then(
    () => {
      throw new Error('the tmpfs did not fill up');
    },
    (err: NodeJS.ErrnoException) => expect(err.code).toBe('ENOSPC'),
  );
}

const lines = async (file: string) => (await fs.readFile(file, 'utf8')).split('\n');

describe('the event journal on a full disk', () => {
  it('never leaves a torn line, counts the dropped events, warns once, and resumes on a line boundary', async () => {
    const logs: { level: string; msg: string; dropped?: number }[] = [];
    const logger = pino({ level: 'info', formatters: { level: (label) => ({ level: label }) } }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const journal = await EventJournal.open(dir, { logger });
    for (let n = 1; n <= 3; n++) await journal.append(ev(n));
    const file = path.join(dir, 'events.jsonl');
    const filler = path.join(dir, 'filler');
    await fill(filler);

    // Long lines: the first fits partly into the journal's last page, then the disk is full.
    for (let n = 4; n <= 9; n++) await journal.append(ev(n, 'x'.repeat(6000)));
    expect(journal.dropped).toBe(6);
    const during = await lines(file);
    expect(during.at(-1)).toBe(''); // ends on a line boundary
    expect(during.filter(Boolean).map((l) => JSON.parse(l).message)).toEqual(['event 1', 'event 2', 'event 3']);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['journal: cannot append (disk full?); events are kept in memory and counted until it can']);
    // Kept in memory meanwhile: history and uptime still have them.
    expect(journal.history('rtdetr').map((e) => e.timestamp)).toHaveLength(9);
    const metrics = new WardenMetrics({ states: () => [], subscribe: () => () => undefined, onProbe: () => () => undefined }, journal);
    expect(await metrics.render()).toMatch(/^warden_journal_dropped_total 6$/m);

    await fs.rm(filler);
    await journal.append(ev(10));
    expect(logs.find((l) => l.msg === 'journal: writable again')).toMatchObject({ level: 'info', dropped: 6 });
    const after = (await lines(file)).filter(Boolean).map((l) => JSON.parse(l).message);
    expect(after).toEqual(['event 1', 'event 2', 'event 3', 'event 10']);

    // After a restart of Warden, history is what the file holds: nothing glued, nothing lost of it.
    const reopened = await EventJournal.open(dir, { logger });
    expect(reopened.history('rtdetr').map((e) => e.message)).toEqual(['event 1', 'event 2', 'event 3', 'event 10']);
  });
});
