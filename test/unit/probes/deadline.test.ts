import { describe, expect, it } from 'vitest';
import { startDeadline } from '../../../src-main/core/probes/deadline.js';

describe('startDeadline', () => {
  it('expires with "timeout after N ms" when the time runs out', async () => {
    const reason = await new Promise<string>((resolve) => startDeadline(20, undefined, resolve));
    expect(reason).toBe('timeout after 20 ms');
  });

  it('expires with "aborted" when the caller aborts first', async () => {
    const controller = new AbortController();
    const reason = new Promise<string>((resolve) => startDeadline(60_000, controller.signal, resolve));
    controller.abort();
    expect(await reason).toBe('aborted');
  });

  it('reports an already-aborted signal asynchronously, never from inside startDeadline', async () => {
    const reasons: string[] = [];
    startDeadline(60_000, AbortSignal.abort(), (r) => reasons.push(r));
    expect(reasons).toEqual([]);
    await Promise.resolve();
    expect(reasons).toEqual(['aborted']);
  });

  it('never fires after dispose(), even for an abort already queued', async () => {
    const reasons: string[] = [];
    startDeadline(60_000, AbortSignal.abort(), (r) => reasons.push(r)).dispose();
    const controller = new AbortController();
    startDeadline(60_000, controller.signal, (r) => reasons.push(r)).dispose();
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reasons).toEqual([]);
  });
});
