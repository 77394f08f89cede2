import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { WardenConfig } from '../../../src-shared/config-schema.js';
import type { MaintenanceList, MaintenanceWindow } from '../../../src-shared/protocol.js';
import type { Clock } from '../monitor/clock.js';
import { coverage, listWindows, nextChange, type AdHocWindow } from './windows.js';

/** The longest ad-hoc window (a week). */
export const MAX_MINUTES = 7 * 24 * 60;
/**
 * It looks again at least this often: its timer runs on the monotonic clock, which stands still
 * while the machine sleeps, but windows end at wall-clock times (a window that ended during a
 * suspend ends within a minute of waking).
 */
const MAX_TIMER_MS = 60_000;

/** What the scheduler drives: the monitor's services. */
export interface MaintenanceTarget {
  names(): string[];
  setMaintenance(name: string, until: number | null, reason: string | null): void;
}

/** A request for an ad-hoc window was refused: the reason is for a 400. */
export class MaintenanceRequestError extends Error {}

/**
 * Maintenance windows (CONTRACT §14): the config's recurring (cron) and fixed ones, and ad-hoc
 * ones from the API, the dashboard, the tray and the CLI. It tells each service whether a window
 * covers it, and wakes once, at the next moment anything begins or ends. Ad-hoc windows are kept
 * in `<dataDir>/maintenance.json`, so a restart of Warden mid-window does not end it.
 */
export class MaintenanceScheduler {
  private config: WardenConfig['maintenance'] = [];
  private adHoc: AdHocWindow[] = [];
  private timer: unknown = null;
  private running = false;
  private seq = 0;
  /** Writes of the file, one after the other (each a whole new file, renamed over the old). */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: { clock: Clock; target: MaintenanceTarget; file: string; logger: Logger },
  ) {}

  /** Read the ad-hoc windows a previous Warden left; a corrupt file is kept aside, never overwritten. */
  async load(): Promise<void> {
    const text = await fs.readFile(this.opts.file, 'utf8').catch(() => null);
    if (text === null) return;
    try {
      const parsed = JSON.parse(text) as { windows?: unknown };
      const list = Array.isArray(parsed.windows) ? parsed.windows : [];
      this.adHoc = list.filter(isAdHoc).filter((w) => w.to > this.opts.clock.now());
    } catch (err) {
      const aside = `${this.opts.file}.bad-${new Date(this.opts.clock.now()).toISOString().replace(/[:.]/g, '-')}`;
      await fs.rename(this.opts.file, aside).catch(() => undefined);
      this.opts.logger.warn({ err, file: this.opts.file, keptAs: aside }, 'maintenance file unreadable: kept aside, starting with no ad-hoc windows');
    }
  }

  /** The config's windows (at start and after every settings change). */
  apply(windows: WardenConfig['maintenance']): void {
    this.config = windows;
    if (this.running) this.sync();
  }

  start(): void {
    this.running = true;
    this.sync();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  list(): MaintenanceList {
    const now = this.opts.clock.now();
    return { windows: listWindows(this.config, this.adHoc, now), timestamp: new Date(now).toISOString() };
  }

  /** An ad-hoc window from now, for `minutes`, over `services` (all when omitted). */
  async begin(req: { services?: string[]; minutes: number; reason?: string }): Promise<MaintenanceWindow> {
    if (!Number.isFinite(req.minutes) || req.minutes <= 0 || req.minutes > MAX_MINUTES) throw new MaintenanceRequestError(`minutes must be more than 0 and at most ${MAX_MINUTES} (a week)`);
    const known = new Set(this.opts.target.names());
    const unknown = (req.services ?? []).filter((s) => !known.has(s));
    if (unknown.length > 0) throw new MaintenanceRequestError(`unknown service${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
    if (req.reason !== undefined && req.reason.length > 200) throw new MaintenanceRequestError('reason must be at most 200 characters');
    if (req.services !== undefined && req.services.length === 0) throw new MaintenanceRequestError('services must name at least one service (leave it out for all)');
    const now = this.opts.clock.now();
    const w: AdHocWindow = { id: `api-${now}-${++this.seq}`, services: req.services ? [...req.services] : null, from: now, to: now + req.minutes * 60_000, reason: req.reason?.trim() || null };
    this.adHoc.push(w);
    this.sync(); // in force at once; kept on disk for a restart of Warden
    await this.persist();
    return listWindows([], [w], now)[0]!;
  }

  /** End every ad-hoc window now (config windows are ended by editing the config); how many ended. */
  async endAdHoc(): Promise<number> {
    const now = this.opts.clock.now();
    const n = this.adHoc.filter((w) => w.to > now).length;
    this.adHoc = [];
    this.sync();
    await this.persist();
    return n;
  }

  /** Tell every service what covers it now, and wake at the next change. */
  private sync(): void {
    if (!this.running) return;
    const now = this.opts.clock.now();
    this.adHoc = this.adHoc.filter((w) => w.to > now);
    const names = this.opts.target.names();
    const cov = coverage(names, this.config, this.adHoc, now);
    for (const name of names) {
      const c = cov.get(name);
      this.opts.target.setMaintenance(name, c?.until ?? null, c?.reason ?? null);
    }
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    const next = nextChange(this.config, this.adHoc, now);
    if (next !== null) this.timer = this.opts.clock.setTimeout(() => this.sync(), Math.min(MAX_TIMER_MS, Math.max(0, next - now)));
  }

  /**
   * Atomically (a crash mid-write never leaves half a file) and in order (two requests at once
   * never race). A write that fails (a full disk) is logged: the window is in force all the same,
   * only a restart of Warden would forget it.
   */
  private persist(): Promise<void> {
    const text = `${JSON.stringify({ windows: this.adHoc })}\n`;
    const write = async () => {
      const tmp = `${this.opts.file}.${process.pid}.${++this.seq}.tmp`;
      try {
        await fs.mkdir(path.dirname(this.opts.file), { recursive: true });
        await fs.writeFile(tmp, text, { mode: 0o600 });
        await fs.rename(tmp, this.opts.file);
      } catch (err) {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        this.opts.logger.warn({ err, file: this.opts.file }, 'could not save the maintenance windows: they apply, but a restart of Warden would forget them');
      }
    };
    this.writes = this.writes.then(write);
    return this.writes;
  }
}

function isAdHoc(v: unknown): v is AdHocWindow {
  if (typeof v !== 'object' || v === null) return false;
  const w = v as Record<string, unknown>;
  return typeof w.id === 'string' && typeof w.from === 'number' && typeof w.to === 'number' && (w.services === null || (Array.isArray(w.services) && w.services.every((s) => typeof s === 'string'))) && (w.reason === null || typeof w.reason === 'string');
}
