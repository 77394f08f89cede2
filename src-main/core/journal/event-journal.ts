import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';

export interface JournalOptions {
  /** Rotate when the current file would pass this size (default 5 MiB). */
  maxBytes?: number;
  /** Rotated generations kept: events.1.jsonl … events.N.jsonl (default 2). */
  keep?: number;
  /** Events kept in memory per service for history and uptime (default 2000). */
  perService?: number;
  logger: Logger;
}

/** Uptime over a window: the share of known time spent healthy, overall and per bucket. */
export interface Uptime {
  ratio: number | null;
  buckets: (number | null)[];
}

const FILE = 'events.jsonl';

/**
 * The append-only event journal `<dataDir>/events.jsonl` (CONTRACT §4), size-bounded by rotation.
 * History and uptime are served from memory, loaded from the files at open.
 */
export class EventJournal {
  private readonly byService = new Map<string, ServiceStatusEvent[]>();
  /** Bytes of whole lines in the current file: where a failed append is cut back to. */
  private size = 0;
  /** The file may not end on a line boundary (a torn tail from an older crash, a failed cut). */
  private needsNewline = false;
  /** An append is failing (full disk): warned once, counted until one succeeds again. */
  private outage: { since: number; dropped: number } | null = null;
  private droppedTotal = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly perService: number;

  private constructor(
    readonly dir: string,
    private readonly opts: JournalOptions,
  ) {
    this.maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
    this.keep = opts.keep ?? 2;
    this.perService = opts.perService ?? 2000;
  }

  get file(): string {
    return path.join(this.dir, FILE);
  }

  /** Open (creating the folder) and load what earlier runs wrote. Unreadable lines are skipped. */
  static async open(dir: string, opts: JournalOptions): Promise<EventJournal> {
    const j = new EventJournal(dir, opts);
    await fs.mkdir(dir, { recursive: true });
    for (let gen = j.keep; gen >= 0; gen--) {
      const text = await fs.readFile(j.generation(gen), 'utf8').catch(() => '');
      if (gen === 0) {
        j.size = Buffer.byteLength(text);
        j.needsNewline = text.length > 0 && !text.endsWith('\n');
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          const event = JSON.parse(line) as ServiceStatusEvent;
          if (event?.type === 'service_status' && typeof event.service === 'string') j.remember(event);
        } catch {
          // A torn last line from a crash must not lose the rest of the journal.
        }
      }
    }
    return j;
  }

  /** Events that could not be written since this journal was opened (warden_journal_dropped_total). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /**
   * Append one event. Never throws: a write that fails (full disk) is cut back to the last whole
   * line, so the file never holds a torn one (CONTRACT §10); the event is kept in memory (history
   * and uptime still show it) and counted; one warning per outage.
   */
  append(event: ServiceStatusEvent): Promise<void> {
    this.remember(event);
    const line = `${JSON.stringify(event)}\n`;
    this.queue = this.queue.then(() => this.write(line));
    return this.queue;
  }

  /** Recent events of one service, newest last. */
  history(service: string, limit = 100): ServiceStatusEvent[] {
    const list = this.byService.get(service) ?? [];
    return list.slice(Math.max(0, list.length - Math.max(0, limit)));
  }

  /** Share of time healthy over [now - windowMs, now]; unknown and paused time are left out. */
  uptime(service: string, now: number, windowMs = 24 * 3600_000, bucketCount = 24): Uptime {
    const events = this.byService.get(service) ?? [];
    const start = now - windowMs;
    const bucketMs = windowMs / bucketCount;
    const up = new Array<number>(bucketCount).fill(0);
    const known = new Array<number>(bucketCount).fill(0);

    // Walk the status segments; the status before the window carries into it.
    let status: ServiceStatusValue | null = null;
    let from = start;
    const add = (to: number) => {
      if (status === null || status === 'unknown' || status === 'paused' || to <= from) return;
      for (let b = Math.floor((from - start) / bucketMs); b < bucketCount && start + b * bucketMs < to; b++) {
        const lo = Math.max(from, start + b * bucketMs);
        const hi = Math.min(to, start + (b + 1) * bucketMs);
        if (hi <= lo) continue;
        known[b]! += hi - lo;
        if (status === 'healthy') up[b]! += hi - lo;
      }
    };
    for (const e of events) {
      const t = Date.parse(e.timestamp);
      if (t > now) break;
      if (t > start) {
        add(t);
        from = t;
      }
      status = e.status;
    }
    add(now);
    const totalKnown = known.reduce((a, b) => a + b, 0);
    return {
      ratio: totalKnown > 0 ? up.reduce((a, b) => a + b, 0) / totalKnown : null,
      buckets: known.map((k, i) => (k > 0 ? up[i]! / k : null)),
    };
  }

  /** Wait for pending writes. */
  async flush(): Promise<void> {
    await this.queue;
  }

  private remember(event: ServiceStatusEvent): void {
    let list = this.byService.get(event.service);
    if (!list) this.byService.set(event.service, (list = []));
    list.push(event);
    if (list.length > this.perService) list.splice(0, list.length - this.perService);
  }

  private generation(n: number): string {
    return n === 0 ? this.file : path.join(this.dir, `events.${n}.jsonl`);
  }

  private async write(line: string): Promise<void> {
    try {
      if (this.size > 0 && this.size + Buffer.byteLength(line) > this.maxBytes) await this.rotate();
      // After a torn tail, start on a fresh line: the event is never glued onto garbage.
      const text = this.needsNewline ? `\n${line}` : line;
      await fs.appendFile(this.file, text, { mode: 0o600 });
      this.size += Buffer.byteLength(text);
      this.needsNewline = false;
      if (this.outage) {
        this.opts.logger.info({ file: this.file, dropped: this.outage.dropped, since: new Date(this.outage.since).toISOString() }, 'journal: writable again');
        this.outage = null;
      }
    } catch (err) {
      await this.cutBack();
      this.droppedTotal += 1;
      if (!this.outage) {
        this.outage = { since: Date.now(), dropped: 0 };
        this.opts.logger.warn({ err, file: this.file }, 'journal: cannot append (disk full?); events are kept in memory and counted until it can');
      }
      this.outage.dropped += 1;
    }
  }

  /** A failed append may have written part of its line: cut the file back to its last whole line. */
  private async cutBack(): Promise<void> {
    try {
      await fs.truncate(this.file, this.size);
    } catch (err) {
      // Nothing to cut (no file yet), or not possible now: the next append starts a new line.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.needsNewline = true;
    }
  }

  private async rotate(): Promise<void> {
    for (let gen = this.keep; gen >= 1; gen--) {
      await fs.rename(this.generation(gen - 1), this.generation(gen)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    this.size = 0;
    this.needsNewline = false;
  }
}
