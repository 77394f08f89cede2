/** Delay before restart attempt n (1-based): base × 2^(n-1) — 5 s, 10 s, 20 s … (CONTRACT §3). */
export function backoffMs(baseSeconds: number, attempt: number): number {
  return baseSeconds * 1000 * 2 ** Math.max(0, attempt - 1);
}
