import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { describeNetworkError, probeResult } from '../../../src-main/core/probes/probe-result.js';

describe('probeResult', () => {
  it('rounds latency to whole milliseconds and never reports a negative one', () => {
    expect(probeResult('up', 'HTTP 200', performance.now() + 1000)).toEqual({ state: 'up', reason: 'HTTP 200', latencyMs: 0 });
    expect(Number.isInteger(probeResult('down', 'x', performance.now() - 12.6).latencyMs)).toBe(true);
  });
});

describe('describeNetworkError', () => {
  it('turns system error codes into short reasons', () => {
    const err = (code: string): Error => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
    expect(describeNetworkError(err('ECONNREFUSED'))).toBe('connection refused');
    expect(describeNetworkError(err('ECONNRESET'))).toBe('connection reset');
    expect(describeNetworkError(err('UND_ERR_SOCKET'))).toBe('connection reset');
    expect(describeNetworkError(err('ENOTFOUND'))).toBe('host not found');
    expect(describeNetworkError(err('EHOSTUNREACH'))).toBe('host unreachable');
  });

  it('falls back to the message, cut to 200 characters, for anything else', () => {
    expect(describeNetworkError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBe(
      'self-signed certificate',
    );
    expect(describeNetworkError(new Error('y'.repeat(300)))).toHaveLength(200);
    expect(describeNetworkError('plain string')).toBe('plain string');
    expect(describeNetworkError(null)).toBe('null');
  });
});
