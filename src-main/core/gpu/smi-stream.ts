import { spawn, type ChildProcess } from 'node:child_process';
import type { GpuInfo } from '../../../src-shared/protocol.js';
import { childEnvironment } from '../managers/shell-service-manager.js';
import { GPU_FIELDS, parseGpuLine, unavailableReason } from './smi-parse.js';

/** A batch of lines arrives together; the next interval's starts a new sample after this quiet time. */
const BATCH_MS = 50;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** Not finding nvidia-smi at all is looked at again only this rarely (a driver may be installed later). */
const MISSING_RETRY_MS = 300_000;

export type GpuReading = Omit<GpuInfo, 'processes'>;

export interface SmiStreamOptions {
  /** The nvidia-smi command (a path or a name on PATH). */
  smi: string;
  /** Seconds between samples (-lms). */
  pollInterval: number;
  onSample(gpus: GpuReading[]): void;
  /** No usable GPU, and why (not found, no devices, a driver error, it hung or died). */
  onUnavailable(reason: string): void;
}

/**
 * One long-lived `nvidia-smi --query-gpu=… -lms N` child (CONTRACT §11), read line by line and
 * never waited on: the event loop is never blocked. It is restarted with backoff when it dies,
 * and killed and restarted when it stops talking (a hung driver).
 */
export class SmiStream {
  private child: ChildProcess | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private batchTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  private batch: GpuReading[] = [];
  private stopped = false;

  constructor(private readonly opts: SmiStreamOptions) {}

  start(): void {
    this.stopped = false;
    if (!this.child && !this.retryTimer) this.spawn();
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.retryTimer, this.batchTimer, this.watchdog]) if (t) clearTimeout(t);
    this.retryTimer = this.batchTimer = this.watchdog = null;
    const child = this.child;
    this.child = null;
    child?.kill('SIGKILL');
  }

  private spawn(): void {
    const ms = Math.max(100, Math.round(this.opts.pollInterval * 1000));
    // Never Warden's secrets (WARDEN_TOKEN): `smi` may be any wrapper the owner points it at.
    const child = spawn(this.opts.smi, [`--query-gpu=${GPU_FIELDS}`, '--format=csv,noheader,nounits', '-lms', String(ms)], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnvironment(process.env) });
    this.child = child;
    let text = '';
    let said = '';
    // What it said besides samples, for the reason it stops: the first 4 KiB tell (a lost GPU
    // repeats its complaint every sample for as long as the stream runs).
    const note = (t: string) => {
      if (said.length < 4096) said += t;
    };
    let sawSample = false;
    const onLine = (line: string) => {
      const reading = parseGpuLine(line);
      if (!reading) {
        note(`${line}\n`);
        return;
      }
      sawSample = true;
      this.retryMs = RETRY_MIN_MS;
      this.batch.push(reading);
      if (this.batchTimer) clearTimeout(this.batchTimer);
      this.batchTimer = setTimeout(() => this.flush(), BATCH_MS);
      this.armWatchdog(ms);
    };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const line of lines) if (line.trim()) onLine(line);
    });
    child.stderr!.setEncoding('utf8').on('data', note);
    this.armWatchdog(ms);
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (this.child !== child) return;
      this.child = null;
      const missing = err.code === 'ENOENT';
      this.opts.onUnavailable(missing ? `${this.opts.smi} not found (no NVIDIA driver installed?)` : `${this.opts.smi}: ${err.message}`);
      this.retry(missing ? MISSING_RETRY_MS : undefined);
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (text.trim()) note(text);
      const why = unavailableReason(said) ?? `${this.opts.smi} exited (${code ?? signal})${said.trim() ? `: ${said.trim().split('\n')[0]!.slice(0, 200)}` : ''}`;
      this.opts.onUnavailable(why);
      // A stream that ran for a while is retried at once; one that never said anything backs off.
      this.retry(sawSample ? RETRY_MIN_MS : undefined);
    });
  }

  /** No sample for three intervals (plus 5 s): the child is hung; kill it, it is restarted. */
  private armWatchdog(ms: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      const child = this.child;
      if (!child) return;
      this.child = null;
      child.kill('SIGKILL');
      this.opts.onUnavailable(`${this.opts.smi} stopped answering (hung for ${Math.round((3 * ms + 5000) / 1000)} s)`);
      this.retry();
    }, 3 * ms + 5_000);
    this.watchdog.unref();
  }

  private flush(): void {
    this.batchTimer = null;
    const gpus = this.batch.sort((a, b) => a.index - b.index);
    this.batch = [];
    if (gpus.length && !this.stopped) this.opts.onSample(gpus);
  }

  private retry(delay?: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    if (this.stopped) return;
    const wait = delay ?? this.retryMs;
    if (delay === undefined) this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.spawn();
    }, wait);
    this.retryTimer.unref();
  }
}
