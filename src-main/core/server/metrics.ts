import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { STATUSES } from '../../../src-shared/status.js';
import type { GpuReading } from '../gpu/smi-stream.js';
import type { ProbeEvent } from '../monitor/health-monitor.js';

/** What the GPU gauges read (the GpuMonitor). */
export interface GpuMetricsSource {
  latest(): { available: boolean; gpus: GpuReading[] };
  serviceMemoryMiB(): Promise<Map<string, number>>;
}

/** What the metrics read from the monitor. */
export interface MetricsSource {
  states(): ServiceState[];
  subscribe(listener: (event: ServiceStatusEvent) => void): () => void;
  onProbe(listener: (event: ProbeEvent) => void): () => void;
}

/**
 * Prometheus metrics for GET /metrics, in a registry of their own (never prom-client's global
 * one), so several servers can live in one process. Gauges are read from the monitor at scrape
 * time, so services added or removed live are always current.
 */
export class WardenMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly source: MetricsSource;
  private readonly restarts: Counter<'service' | 'result'>;

  constructor(source: MetricsSource, journal?: { readonly dropped: number }, gpu?: GpuMetricsSource) {
    this.source = source;
    // Warden's own footprint, under the standard names (process_resident_memory_bytes,
    // process_open_fds, nodejs_heap_size_used_bytes …): what a soak run and Prometheus watch.
    // The event-loop delay is sampled every 100 ms, not prom-client's 10 ms: at 10 ms that
    // sampler alone woke an idle Warden 100 times a second (issue 16, bench/footprint.ts).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    if (gpu) this.gpuGauges(gpu);
    if (journal) {
      new Counter({
        name: 'warden_journal_dropped_total',
        help: 'Events that could not be appended to the event journal (full disk); kept in memory only.',
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(journal.dropped);
        },
      });
    }
    new Gauge({
      name: 'warden_service_up',
      help: '1 when the service is healthy, else 0.',
      labelNames: ['service'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of source.states()) this.set({ service: s.service }, s.status === 'healthy' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'warden_service_status',
      help: 'The service status: 1 for the current one, 0 for the others.',
      labelNames: ['service', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of source.states()) {
          for (const status of STATUSES) this.set({ service: s.service, status }, s.status === status ? 1 : 0);
        }
      },
    });
    const probeDuration = new Histogram({
      name: 'warden_probe_duration_seconds',
      help: 'Wall time of each health check.',
      labelNames: ['service'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    const deepDuration = new Histogram({
      name: 'warden_deep_check_duration_seconds',
      help: 'Wall time of each deep check (CONTRACT §14), by outcome (ok, failed); skipped ones are not counted.',
      labelNames: ['service', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    const restarts = new Counter({
      name: 'warden_restarts_total',
      help: 'Restart attempts by outcome.',
      labelNames: ['service', 'result'],
      registers: [this.registry],
    });
    this.restarts = restarts;
    this.zeroCounters();

    this.unsubscribe.push(
      source.onProbe((p) => {
        probeDuration.observe({ service: p.service }, p.latencyMs / 1000);
        if (p.deep && p.deep.outcome !== 'skipped') deepDuration.observe({ service: p.service, outcome: p.deep.outcome }, p.deep.latencyMs / 1000);
      }),
      source.subscribe((e) => {
        if (e.status === 'restart_failed') restarts.inc({ service: e.service, result: 'failure' });
        else if (e.status === 'healthy' && e.previous === 'restarting') restarts.inc({ service: e.service, result: 'success' });
      }),
    );
  }

  /** CONTRACT §11: per GPU memory, utilisation and temperature; VRAM per service. Absent without a GPU. */
  private gpuGauges(gpu: GpuMetricsSource): void {
    const perGpu = (name: string, help: string, value: (g: GpuReading) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['gpu'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const g of gpu.latest().gpus) {
            const v = value(g);
            if (v !== null) this.set({ gpu: String(g.index) }, v);
          }
        },
      });
    const mib = 1024 * 1024;
    perGpu('warden_gpu_memory_used_bytes', 'GPU memory in use.', (g) => (g.memoryUsedMiB === null ? null : g.memoryUsedMiB * mib));
    perGpu('warden_gpu_memory_total_bytes', 'GPU memory in all.', (g) => (g.memoryTotalMiB === null ? null : g.memoryTotalMiB * mib));
    perGpu('warden_gpu_utilization_ratio', 'GPU utilisation, 0 to 1.', (g) => (g.utilizationPct === null ? null : g.utilizationPct / 100));
    perGpu('warden_gpu_temperature_celsius', 'GPU temperature.', (g) => g.temperatureC);
    new Gauge({
      name: 'warden_service_gpu_memory_bytes',
      help: 'GPU memory held by the processes of each GPU service.',
      labelNames: ['service'],
      registers: [this.registry],
      async collect() {
        this.reset();
        if (!gpu.latest().available) return;
        for (const [service, used] of await gpu.serviceMemoryMiB()) this.set({ service }, used * mib);
      },
    });
  }

  /** The Content-Type of the text exposition format. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in Prometheus text format. */
  render(): Promise<string> {
    this.zeroCounters();
    return this.registry.metrics();
  }

  /**
   * Every labelled counter exists, at 0, for every service (CONTRACT §10): Prometheus' increase()
   * only sees a first restart if the series was there before it. Services added live get theirs
   * at the next scrape.
   */
  private zeroCounters(): void {
    for (const s of this.source.states()) {
      for (const result of ['success', 'failure'] as const) this.restarts.inc({ service: s.service, result }, 0);
    }
  }

  /** Stop listening to the monitor. */
  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
