import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from '../../../src-renderer/state/reconnect-backoff.js';

const middle = () => 0.5; // no jitter

describe('reconnect backoff', () => {
  it('starts at 0.5 s and doubles each attempt', () => {
    expect([0, 1, 2, 3, 4].map((n) => reconnectDelayMs(n, middle))).toEqual([500, 1000, 2000, 4000, 8000]);
  });

  it('is capped at 15 s', () => {
    expect(reconnectDelayMs(5, middle)).toBe(15_000);
    expect(reconnectDelayMs(60, middle)).toBe(15_000);
  });

  it('spreads each delay over ±20 % so many tabs do not reconnect in step', () => {
    expect(reconnectDelayMs(1, () => 0)).toBe(800);
    expect(reconnectDelayMs(1, () => 1)).toBe(1200);
    expect(reconnectDelayMs(10, () => 1)).toBe(18_000);
  });

  it('treats a negative attempt as the first', () => {
    expect(reconnectDelayMs(-3, middle)).toBe(500);
  });

  it('uses Math.random by default and stays within the jitter band', () => {
    for (let i = 0; i < 50; i++) {
      const d = reconnectDelayMs(2);
      expect(d).toBeGreaterThanOrEqual(1600);
      expect(d).toBeLessThanOrEqual(2400);
    }
  });
});
