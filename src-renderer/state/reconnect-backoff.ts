/** How the dashboard retries a lost WebSocket: 0.5 s doubling to 15 s, ±20 % jitter. */
export interface ReconnectPolicy {
  initialMs: number;
  maxMs: number;
  /** 0.2 = each delay is spread uniformly over ±20 % so many tabs do not reconnect in step. */
  jitter: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialMs: 500, maxMs: 15_000, jitter: 0.2 };

/** Delay before reconnect attempt n (0-based); `random` is Math.random or a test's fixed value. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random, policy: ReconnectPolicy = DEFAULT_RECONNECT): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt));
  const spread = (random() * 2 - 1) * policy.jitter;
  return Math.round(base * (1 + spread));
}
