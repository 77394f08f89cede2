import type { DeepCheckView } from '../../../src-shared/protocol.js';
import { DeepCheck, type DeepCheckSpec, type DeepOutcome } from '../probes/deep-check.js';
import type { ProbeResult } from '../probes/probe.js';
import type { Clock } from './clock.js';

/**
 * When one service's deep check runs (CONTRACT §14), and what it makes of a health check: after a
 * health check that says up, every `interval`; and at once — before the service is called healthy —
 * for an instance it has not checked yet (first look, after a restart, after any answer that was
 * not up) and while the last one failed, so the fresh look before a restart checks again.
 */
export class DeepCheckCadence {
  private readonly check: DeepCheck;
  /** When the last run that said ok or failed ended; null: this instance is not checked yet. */
  private checkedAt: number | null = null;
  private last: (DeepOutcome & { at: number }) | null = null;

  constructor(
    readonly spec: DeepCheckSpec,
    private readonly clock: Clock,
  ) {
    this.check = new DeepCheck(spec);
  }

  /** The last run failed (readiness that runs out then failed for this cause). */
  get failing(): boolean {
    return this.last?.outcome === 'failed';
  }

  /** The health check's result, turned down (cause deep_check_failed) when a deep check due now fails. */
  async follow(result: ProbeResult, signal?: AbortSignal): Promise<ProbeResult> {
    if (result.state !== 'up') {
      // Whatever answers next may be a new instance: check it before it is called healthy.
      this.checkedAt = null;
      return result;
    }
    if (!this.due()) return result;
    const deep = await this.check.run(signal);
    const now = this.clock.now();
    this.last = { ...deep, at: now };
    if (deep.outcome === 'skipped') return { ...result, deep };
    this.checkedAt = now;
    if (deep.outcome === 'ok') return { ...result, deep };
    return { state: 'down', reason: `deep check failed: ${deep.reason}`, latencyMs: result.latencyMs, cause: 'deep_check_failed', deep };
  }

  /** A restart begins: the next instance is checked before it is called healthy. */
  reset(): void {
    this.checkedAt = null;
  }

  private due(): boolean {
    return this.checkedAt === null || this.failing || this.clock.now() - this.checkedAt >= this.spec.intervalMs;
  }

  /** As shown on the card and served by the API. */
  view(): DeepCheckView {
    const last = this.last;
    return {
      request: this.spec.label,
      every: this.spec.intervalMs / 1000,
      outcome: last?.outcome ?? 'pending',
      reason: last?.reason ?? 'not run yet',
      latencyMs: last?.latencyMs ?? null,
      at: last ? new Date(last.at).toISOString() : null,
    };
  }

  close(): Promise<void> {
    return this.check.close();
  }
}
