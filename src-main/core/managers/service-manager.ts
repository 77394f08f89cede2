import type { ResolvedService } from '../../../src-shared/config-schema.js';
import type { ProbeResult } from '../probes/probe.js';
import type { InflightRestart } from './inflight-restarts.js';

/** The outcome of one restart: failures keep the reason and the tail of the output (CONTRACT §3 step 4). */
export type RestartResult =
  | { ok: true; output: string }
  | { ok: false; reason: string; output: string; exitCode: number | null; signal: string | null; timedOut: boolean };

export interface RestartOptions {
  manual?: boolean;
}

/** The design's strategy (a2v.1): how a service is checked and brought back. */
export interface ServiceManager {
  readonly type: 'shell' | 'docker' | 'systemd';
  /** Health per the strategy: the URL probe, or for docker:// the container's own state. */
  checkHealth(service: ResolvedService, signal?: AbortSignal): Promise<ProbeResult>;
  /**
   * Restart; resolves (never rejects) when the command/API call has finished or timed out.
   * `manual`: asked for by a person, so it must really restart, also a healthy instance (§9.8).
   */
  restart(service: ResolvedService, signal?: AbortSignal, opts?: RestartOptions): Promise<RestartResult>;
  /**
   * A restart in two halves, for a GPU service's release gate (CONTRACT §11: stop → gate → start).
   * A strategy that cannot stop on its own for this service (shell without stopCmd) answers false.
   */
  canStopAndStart?(service: ResolvedService): boolean;
  stopService?(service: ResolvedService, signal?: AbortSignal): Promise<RestartResult>;
  startService?(service: ResolvedService, signal?: AbortSignal): Promise<RestartResult>;
  /** Follow a restart a previous Warden left running (shell strategy); resolves like restart(). */
  adopt?(service: ResolvedService, entry: InflightRestart, signal?: AbortSignal): Promise<RestartResult>;
  /** Stop whatever the manager holds open (pools, event streams). */
  close(): Promise<void>;
}
