import { setTimeout as delay } from 'node:timers/promises';

/** Poll fn until it returns a value other than undefined, or fail after the deadline. */
export async function pollUntil<T>(fn: () => Promise<T | undefined>, what: string, deadlineMs = 20_000, everyMs = 50): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await delay(everyMs);
  }
}
