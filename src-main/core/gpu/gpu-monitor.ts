import type { Logger } from 'pino';
import type { WardenConfig } from '../../../src-shared/config-schema.js';
import type { GpuSnapshot } from '../../../src-shared/protocol.js';
import { EventBus, type Listener } from '../monitor/event-bus.js';
import { attribute, type GpuOwner } from './attribution.js';
import { queryComputeApps, queryGpus } from './smi-queries.js';
import type { ComputeApp } from './smi-parse.js';
import { SmiStream, type GpuReading } from './smi-stream.js';

type GpuConfig = WardenConfig['gpu'];

export interface GpuMonitorOptions {
  config: GpuConfig;
  /** The services that may own GPU processes, as they are now. */
  owners(): Promise<GpuOwner[]>;
  logger: Logger;
}

/**
 * GPU telemetry (CONTRACT §11): the latest nvidia-smi sample, the compute processes on demand
 * (attributed to services), and a note each sample for whoever shows it (WebSocket, tray). All of
 * it optional: with no GPU it says why, and nothing else in Warden is affected.
 */
export class GpuMonitor {
  private config: GpuConfig;
  private stream: SmiStream | null = null;
  private readings: GpuReading[] = [];
  private reason: string | null = 'not started yet';
  private sampledAt = 0;
  private apps: { at: number; promise: Promise<ComputeApp[]> } | null = null;
  private readonly bus: EventBus<GpuReading[]>;
  private running = false;
  /**
   * GPU pids seen as a service's: a process that died (a container's, whose cgroup went with it)
   * can stay in compute-apps while the driver frees its memory, and the release gate must still
   * know it was that service's. Forgotten once nvidia-smi no longer lists it.
   */
  private readonly known = new Map<number, string>();

  constructor(private readonly opts: GpuMonitorOptions) {
    this.config = opts.config;
    this.bus = new EventBus(opts.logger, 'gpu');
  }

  /** Is there a usable GPU reading now? */
  get available(): boolean {
    return this.reason === null;
  }

  start(): void {
    this.running = true;
    this.restartStream();
  }

  stop(): void {
    this.running = false;
    this.stream?.stop();
    this.stream = null;
  }

  /** New settings: the stream is started again when what it runs changed. */
  apply(config: GpuConfig): void {
    const changed = config.enabled !== this.config.enabled || config.smi !== this.config.smi || config.pollInterval !== this.config.pollInterval;
    this.config = config;
    if (changed && this.running) this.restartStream();
  }

  /** Called after every sample (at most every pollInterval). */
  onSample(listener: Listener<GpuReading[]>): () => void {
    return this.bus.subscribe(listener);
  }

  /** The latest sample, without processes (cheap: for metrics and the tray). */
  latest(): { available: boolean; reason: string | null; gpus: GpuReading[] } {
    return { available: this.available, reason: this.reason, gpus: this.reason === null ? this.readings : [] };
  }

  /** The compute processes now (fresh: the release gate), or null when nvidia-smi cannot tell. */
  async computeApps(): Promise<ComputeApp[] | null> {
    if (this.config.enabled === false) return null;
    try {
      return await queryComputeApps(this.config.smi);
    } catch {
      return null;
    }
  }

  /** Free and total memory of one GPU now (fresh: the release gate), or null when nvidia-smi cannot tell. */
  async memory(index: number): Promise<{ freeMiB: number; totalMiB: number; uuid: string } | null> {
    if (this.config.enabled === false) return null;
    try {
      const g = (await queryGpus(this.config.smi)).find((x) => x.index === index);
      return g && g.memoryTotalMiB !== null && g.memoryUsedMiB !== null ? { freeMiB: g.memoryTotalMiB - g.memoryUsedMiB, totalMiB: g.memoryTotalMiB, uuid: g.uuid } : null;
    } catch {
      return null;
    }
  }

  /**
   * A GPU service's processes on one GPU now (pids and the MiB they hold): what the gate waits for
   * after a stop. Only that GPU's: its free memory is what the gate compares with (llama.cpp may
   * split a model over several GPUs).
   */
  async held(service: string, index: number): Promise<{ pids: number[]; usedMiB: number }> {
    const snap = await this.snapshot();
    const mine = snap.gpus.filter((g) => g.index === index).flatMap((g) => g.processes).filter((p) => p.service === service);
    return { pids: mine.map((p) => p.pid), usedMiB: mine.reduce((a, p) => a + (p.usedMiB ?? 0), 0) };
  }

  /** The gate and the load lock work on this config. */
  get settings(): GpuConfig {
    return this.config;
  }

  /** GET /api/gpus and the WebSocket message: the sample with its processes (asked at most once per interval). */
  async snapshot(): Promise<GpuSnapshot> {
    const { available, reason, gpus } = this.latest();
    const timestamp = new Date(this.sampledAt || Date.now()).toISOString();
    if (!available) return { available, reason, gpus: [], timestamp };
    const apps = (await this.cachedApps()) ?? [];
    const owners = await attribute(
      apps.map((a) => a.pid),
      await this.opts.owners(),
    );
    const listed = new Set(apps.map((a) => a.pid));
    for (const pid of this.known.keys()) if (!listed.has(pid)) this.known.delete(pid);
    for (const [pid, service] of owners) {
      if (service) this.known.set(pid, service);
      else if (this.known.has(pid)) owners.set(pid, this.known.get(pid)!);
    }
    return {
      available,
      reason,
      timestamp,
      gpus: gpus.map((g) => ({
        ...g,
        processes: apps.filter((a) => a.gpuUuid === g.uuid).map((a) => ({ pid: a.pid, usedMiB: a.usedMiB, service: owners.get(a.pid) ?? null })),
      })),
    };
  }

  /** VRAM per service (for /metrics), from the latest snapshot's processes. */
  async serviceMemoryMiB(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const g of (await this.snapshot()).gpus) {
      for (const p of g.processes) if (p.service && p.usedMiB !== null) out.set(p.service, (out.get(p.service) ?? 0) + p.usedMiB);
    }
    return out;
  }

  private cachedApps(): Promise<ComputeApp[] | null> {
    const now = Date.now();
    if (!this.apps || now - this.apps.at >= this.config.pollInterval * 1000) {
      this.apps = { at: now, promise: queryComputeApps(this.config.smi).catch(() => [] as ComputeApp[]) };
    }
    return this.apps.promise;
  }

  private restartStream(): void {
    this.stream?.stop();
    this.stream = null;
    this.readings = [];
    if (this.config.enabled === false) {
      this.reason = 'GPU telemetry is off (gpu.enabled: false)';
      return;
    }
    this.reason = 'waiting for the first nvidia-smi sample';
    this.stream = new SmiStream({
      smi: this.config.smi,
      pollInterval: this.config.pollInterval,
      onSample: (gpus) => {
        this.readings = gpus;
        this.sampledAt = Date.now();
        if (this.reason !== null) this.opts.logger.info({ gpus: gpus.length }, 'gpu: nvidia-smi answers');
        this.reason = null;
        this.bus.publish(gpus);
      },
      onUnavailable: (reason) => {
        // Said once per change: a machine without a GPU is not told so every five minutes.
        const changed = reason !== this.reason;
        if (changed) this.opts.logger[this.config.enabled === true ? 'warn' : 'info']({ reason }, 'gpu: no usable GPU');
        this.reason = reason;
        this.readings = [];
        if (changed) this.bus.publish([]);
      },
    });
    this.stream.start();
  }
}
