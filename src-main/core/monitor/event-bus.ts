import type { Logger } from 'pino';

/** A subscriber; may be async. One that throws or rejects is logged and dropped. */
export type Listener<T> = (event: T) => void | Promise<void>;

/**
 * Typed fan-out that can never be stopped by a subscriber: a failing subscriber (closed socket,
 * full disk) is logged and removed, and the publisher carries on (CONTRACT §4).
 */
export class EventBus<T> {
  private readonly listeners = new Set<Listener<T>>();

  constructor(private readonly logger: Logger) {}

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
          (result as Promise<void>).catch((err: unknown) => this.drop(listener, err));
        }
      } catch (err) {
        this.drop(listener, err);
      }
    }
  }

  private drop(listener: Listener<T>, err: unknown): void {
    this.listeners.delete(listener);
    this.logger.error({ err }, 'subscriber failed and was dropped');
  }
}
