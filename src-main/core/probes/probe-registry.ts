import type { Probe } from './probe.js';
import { createProbe } from './create-probe.js';

/** What the registry needs to know about a service (a subset of ResolvedService; timeout in seconds). */
export interface ProbedService {
  name: string;
  healthUrl: string;
  serviceHealthTimeout: number;
}

interface Entry {
  probe: Probe;
  url: string;
  timeoutMs: number;
}

/**
 * One probe per service name, built on first use and kept (with its keep-alive connections);
 * rebuilt, closing the old one, when the service's health URL or timeout changes.
 */
export class ProbeRegistry {
  private readonly entries = new Map<string, Entry>();

  /** The probe for this service as configured now. Throws like createProbe on a bad URL. */
  get(service: ProbedService): Probe {
    const timeoutMs = Math.round(service.serviceHealthTimeout * 1000);
    const entry = this.entries.get(service.name);
    if (entry && entry.url === service.healthUrl && entry.timeoutMs === timeoutMs) return entry.probe;
    const probe = createProbe(service.healthUrl, timeoutMs);
    // The old probe's in-flight check (if any) ends as down "probe closed"; close() never rejects.
    if (entry) void entry.probe.close();
    this.entries.set(service.name, { probe, url: service.healthUrl, timeoutMs });
    return probe;
  }

  /** Closes and drops the probe of a service that was removed. */
  async forget(name: string): Promise<void> {
    const entry = this.entries.get(name);
    this.entries.delete(name);
    await entry?.probe.close();
  }

  /** Closes every probe. */
  async close(): Promise<void> {
    const probes = [...this.entries.values()].map((e) => e.probe.close());
    this.entries.clear();
    await Promise.all(probes);
  }
}
