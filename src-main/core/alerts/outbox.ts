import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Logger } from 'pino';
import type { Clock } from '../monitor/clock.js';
import type { Alert } from './policy.js';

/** Retries wait 1 s, doubling, at most 5 min (CONTRACT §15). */
export const FIRST_RETRY_MS = 1000;
export const MAX_RETRY_MS = 300_000;

export function retryDelay(attempts: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

/** One alert waiting for one channel. */
interface Entry {
  alert: Alert;
  channel: string;
  queuedAt: number;
  attempts: number;
  nextAt: number;
  lastError: string | null;
  /** Its file; null when it could not be written (a full disk): delivered from memory only. */
  file: string | null;
}

export interface OutboxDeps {
  dir: string;
  clock: Clock;
  logger: Logger;
  /** Deliver; throws with a short reason when it was not delivered. */
  deliver(channel: string, alert: Alert, signal: AbortSignal): Promise<void>;
  /** Is this channel still configured? (A queued alert for a removed one is dropped.) */
  known(channel: string): boolean;
  /** Every attempt's outcome (the per-channel status). */
  onResult?(channel: string, alert: Alert, error: string | null, attempts: number): void;
}

/**
 * The durable outbox (CONTRACT §15): each (alert, channel) is written to `<dir>` before it is
 * sent, and removed once delivered; a failure is retried with backoff, after a receiver outage
 * and after a restart of Warden alike, always with the alert's own id. One delivery at a time
 * per channel, oldest first, so a channel's alerts arrive in order.
 */
export class AlertOutbox {
  private entries: Entry[] = [];
  private readonly busy = new Map<string, AbortController>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: unknown = null;
  private closed = false;
  /** Reading what a previous Warden left: new alerts are queued only after it (never twice). */
  private loaded: Promise<void> | null = null;
  /** The last enqueue: the next one waits for it, so a channel's alerts keep their order. */
  private enqueued: Promise<void> = Promise.resolve();

  constructor(private readonly deps: OutboxDeps) {}

  /** Read what a previous Warden left queued; an unreadable file is kept aside, never overwritten. */
  load(): Promise<void> {
    this.loaded ??= this.readQueued();
    return this.loaded;
  }

  private async readQueued(): Promise<void> {
    await fs.mkdir(this.deps.dir, { recursive: true, mode: 0o700 });
    const names = (await fs.readdir(this.deps.dir)).filter((n) => n.endsWith('.json')).sort();
    for (const name of names) {
      const file = path.join(this.deps.dir, name);
      const entry = await readEntry(file);
      if (!entry) {
        const aside = `${file}.bad-${new Date(this.deps.clock.now()).toISOString().replace(/[:.]/g, '-')}`;
        await fs.rename(file, aside).catch(() => undefined);
        this.deps.logger.error({ file, movedTo: aside }, 'unreadable outbox entry kept aside');
        continue;
      }
      if (!this.deps.known(entry.channel)) {
        this.deps.logger.warn({ channel: entry.channel, alert: entry.alert.id }, 'dropped a queued alert: its channel is no longer configured');
        await fs.rm(file, { force: true });
        continue;
      }
      // Due at once: whatever it waited for may be over, and a restart is a good moment to try.
      this.entries.push({ ...entry, nextAt: this.deps.clock.now(), file });
    }
    this.entries.sort((a, b) => a.queuedAt - b.queuedAt);
    this.pump();
  }

  /** Queue an alert for these channels: written first, then sent; alerts queue in the order they came. */
  enqueue(alert: Alert, channels: string[]): Promise<void> {
    const next = this.enqueued.then(() => this.add(alert, channels));
    this.enqueued = next.catch(() => undefined);
    return next;
  }

  private async add(alert: Alert, channels: string[]): Promise<void> {
    if (this.closed) return;
    const now = this.deps.clock.now();
    // After the queue a previous Warden left has been read: else a file written now is read again.
    await this.loaded?.catch(() => undefined);
    const fresh = await Promise.all(
      channels.map(async (channel): Promise<Entry> => {
        const entry: Entry = { alert, channel, queuedAt: now, attempts: 0, nextAt: now, lastError: null, file: this.fileFor(alert, channel) };
        if (!(await this.write(entry))) entry.file = null;
        return entry;
      }),
    );
    // A channel removed while the files were written: what was written for it goes.
    for (const entry of fresh.filter((e) => !this.deps.known(e.channel))) if (entry.file) await fs.rm(entry.file, { force: true });
    this.entries.push(...fresh.filter((e) => this.deps.known(e.channel)));
    this.pump();
  }

  /** How many alerts wait for this channel. */
  queued(channel: string): number {
    return this.entries.filter((e) => e.channel === channel).length;
  }

  /** A channel was removed from the config: what waits for it is dropped. */
  async forget(channel: string): Promise<void> {
    const gone = this.entries.filter((e) => e.channel === channel);
    this.entries = this.entries.filter((e) => e.channel !== channel);
    this.busy.get(channel)?.abort();
    await Promise.all(gone.map((e) => (e.file ? fs.rm(e.file, { force: true }) : undefined)));
  }

  /** Stop: sends in flight are aborted and stay queued on disk for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    for (const abort of this.busy.values()) abort.abort();
    await Promise.all([...this.inFlight]);
  }

  private fileFor(alert: Alert, channel: string): string {
    const key = createHash('sha256').update(`${alert.id}\n${channel}`).digest('hex').slice(0, 16);
    return path.join(this.deps.dir, `${alert.at.replace(/[:.]/g, '-')}-${key}.json`);
  }

  /** Atomically (temp file + rename): a full disk leaves the old file or none, never half of one. */
  private async write(entry: Entry): Promise<boolean> {
    if (!entry.file) return false;
    const { file: _file, ...data } = entry;
    try {
      await writeFileAtomic(entry.file, JSON.stringify(data), { mode: 0o600 });
      return true;
    } catch (err) {
      this.deps.logger.error({ err, alert: entry.alert.id, channel: entry.channel }, 'could not write the outbox (delivering from memory only)');
      return false;
    }
  }

  /** Start every delivery that is due on a channel with none in flight; set the timer for the next. */
  private pump(): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    let next = Infinity;
    const started = new Set<string>();
    for (const entry of this.entries) {
      if (this.busy.has(entry.channel) || started.has(entry.channel)) continue;
      started.add(entry.channel); // the oldest of each channel goes first
      if (entry.nextAt <= now) this.send(entry);
      else next = Math.min(next, entry.nextAt);
    }
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = next === Infinity ? null : this.deps.clock.setTimeout(() => ((this.timer = null), this.pump()), Math.max(0, next - now));
  }

  private send(entry: Entry): void {
    const abort = new AbortController();
    this.busy.set(entry.channel, abort);
    const done = (async () => {
      let error: string | null = null;
      try {
        await this.deps.deliver(entry.channel, entry.alert, abort.signal);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      this.busy.delete(entry.channel);
      if (abort.signal.aborted && (this.closed || !this.entries.includes(entry))) return; // stopped or forgotten: it stays as it was
      entry.attempts += 1;
      this.deps.onResult?.(entry.channel, entry.alert, error, entry.attempts);
      if (error === null || !this.deps.known(entry.channel)) {
        // Delivered, or its channel is gone: never sent again.
        this.entries = this.entries.filter((e) => e !== entry);
        if (entry.file) await fs.rm(entry.file, { force: true });
      } else {
        entry.lastError = error;
        entry.nextAt = this.deps.clock.now() + retryDelay(entry.attempts);
        this.deps.logger.warn({ channel: entry.channel, alert: entry.alert.id, attempts: entry.attempts, error, retryInMs: retryDelay(entry.attempts) }, 'alert not delivered; will retry');
        await this.write(entry);
        // Forgotten while it was written: the file must not outlive it.
        if (!this.entries.includes(entry) && entry.file) await fs.rm(entry.file, { force: true });
      }
    })();
    this.inFlight.add(done);
    void done.finally(() => {
      this.inFlight.delete(done);
      this.pump();
    });
  }
}

/** An entry file, or null when it is not one (bad JSON, wrong shape). */
async function readEntry(file: string): Promise<Omit<Entry, 'file'> | null> {
  try {
    const data = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<Entry>;
    const a = data.alert as Partial<Alert> | undefined;
    if (typeof data.channel !== 'string' || typeof data.queuedAt !== 'number' || typeof data.attempts !== 'number' || !a || typeof a.id !== 'string' || typeof a.title !== 'string' || typeof a.at !== 'string') return null;
    return { alert: a as Alert, channel: data.channel, queuedAt: data.queuedAt, attempts: data.attempts, nextAt: 0, lastError: typeof data.lastError === 'string' ? data.lastError : null };
  } catch {
    return null;
  }
}
