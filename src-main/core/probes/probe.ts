import type { FailureCause } from '../../../src-shared/causes.js';
import type { DeepOutcome } from './deep-check.js';

/** What one health check found (CONTRACT §2). */
export type ProbeState = 'up' | 'loading' | 'down';

export interface ProbeResult {
  state: ProbeState;
  /** Short, human reason: "HTTP 200", "connection refused", "Loading model", "timeout after 5000 ms". */
  reason: string;
  /** Wall time of the check in milliseconds. */
  latencyMs: number;
  /** Down because someone stopped it on purpose (docker stop): reported as paused, not restarted. */
  stoppedOnPurpose?: boolean;
  /** Down for this cause (a failed deep check: deep_check_failed, CONTRACT §14). */
  cause?: FailureCause;
  /** A deep check ran after the health check (its own latency; CONTRACT §14). */
  deep?: DeepOutcome;
}

/** A health check bound to one target. Built once per service and reused (keep-alive pools). */
export interface Probe {
  /** Never throws: every failure is a 'down' result with a reason. */
  check(signal?: AbortSignal): Promise<ProbeResult>;
  /** Release pooled connections. */
  close(): Promise<void>;
}
