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
  /** The last run that decided (ok or failed): a skip decides nothing. */
  private verdict: (DeepOutcome & { at: number }) | null = null;
  /** Bumped by reset(): a run that began on the old instance says nothing about the new one. */
  private generation = 0;

  constructor(
    readonly spec: DeepCheckSpec,
    private readonly clock: Clock,
  ) {
    this.check = new DeepCheck(spec);
  }

  /** The last run failed (readiness that runs out then failed for this cause). */
  get failing(): boolean {
    return this.verdict?.outcome === 'failed';
  }

  /** The health check's result, turned down (cause deep_check_failed) when a deep check due now fails. */
  async follow(result: ProbeResult, signal?: AbortSignal): Promise<ProbeResult> {
    if (result.state !== 'up') {
      // Whatever answers next may be a new instance: check it before it is called healthy.
      this.checkedAt = null;
      return result;
    }
    if (!this.due()) return result;
    const generation = this.generation;
    const deep = await this.check.run(signal);
    // Stopped, or a restart began meanwhile: this run tells nothing, and is not recorded.
    if (signal?.aborted || generation !== this.generation) return result;
    const now = this.clock.now();
    this.last = { ...deep, at: now };
    if (deep.outcome === 'skipped') {
      // Every slot busy: slow, not dead — but a server that just failed is not cleared by a skip.
      const failed = this.verdict?.outcome === 'failed' ? this.verdict : null;
      return failed ? this.down(result, `${failed.reason} (now every slot is busy)`, deep) : { ...result, deep };
    }
    this.checkedAt = now;
    this.verdict = this.last;
    return deep.outcome === 'ok' ? { ...result, deep } : this.down(result, deep.reason, deep);
  }

  private down(result: ProbeResult, reason: string, deep: DeepOutcome): ProbeResult {
    return { state: 'down', reason: `deep check failed: ${reason}`, latencyMs: result.latencyMs, cause: 'deep_check_failed', deep };
  }

  /** A restart begins: the next instance is checked before it is called healthy. */
  reset(): void {
    this.checkedAt = null;
    this.generation++;
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
