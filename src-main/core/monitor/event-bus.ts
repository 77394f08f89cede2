import type { Logger } from 'pino';

/** A subscriber; may be async. */
export type Listener<T> = (event: T) => void | Promise<void>;

/**
 * Typed fan-out in which subscribers are isolated (CONTRACT §4, §9.9): one that throws or rejects
 * loses that event for itself, and it is logged; it stays subscribed, and neither the publisher
 * nor any other subscriber is affected.
 */
export class EventBus<T> {
  private readonly listeners = new Set<Listener<T>>();

  /** `what` names the events in the log ("service_status", "probe"). */
  constructor(
    private readonly logger: Logger,
    private readonly what = 'event',
  ) {}

  /** Subscribe; returns the unsubscribe function. */
  subscribe(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }

  publish(event: T): void {
    for (const listener of [...this.listeners]) {
      try {
        const result = listener(event);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).catch((err: unknown) => this.failed(err));
        }
      } catch (err) {
        this.failed(err);
      }
    }
  }

  private failed(err: unknown): void {
    this.logger.error({ err, what: this.what }, 'a subscriber failed on an event; it stays subscribed');
  }
}
