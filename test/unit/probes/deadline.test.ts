import { getEventListeners } from 'node:events';
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

describe('startDeadline on a signal that serves check after check', () => {
  it('holds one abort listener on it, however many checks it serves, and aborts only the checks still running', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 100; i++) startDeadline(60_000, controller.signal, () => undefined).dispose();
    const reasons: string[] = [];
    const running = [1, 2, 3].map((n) => startDeadline(60_000, controller.signal, (r) => reasons.push(`${n}:${r}`)));
    startDeadline(60_000, controller.signal, (r) => reasons.push(`done:${r}`)).dispose();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(reasons).toEqual(['1:aborted', '2:aborted', '3:aborted']);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    for (const d of running) d.dispose(); // after they expired: harmless
    // A deadline started on the aborted signal still learns it, asynchronously.
    startDeadline(60_000, controller.signal, (r) => reasons.push(`late:${r}`));
    await Promise.resolve();
    expect(reasons.at(-1)).toBe('late:aborted');
  });

  it('lets one check give up on another of the same signal when it expires (the other is not told twice)', () => {
    const controller = new AbortController();
    const reasons: string[] = [];
    let second: { dispose(): void } | null = null;
    startDeadline(60_000, controller.signal, (r) => {
      reasons.push(`first:${r}`);
      second?.dispose();
    });
    second = startDeadline(60_000, controller.signal, (r) => reasons.push(`second:${r}`));
    controller.abort();
    expect(reasons).toEqual(['first:aborted']);
  });
});

describe('startDeadline when a caller throws', () => {
  it('still tells the other checks of the signal, and the error surfaces as uncaught', async () => {
    const controller = new AbortController();
    const reasons: string[] = [];
    startDeadline(60_000, controller.signal, () => {
      throw new Error('caller bug');
    });
    startDeadline(60_000, controller.signal, (r) => reasons.push(r));
    // Node reports a throwing abort listener as an uncaught exception on the next tick: caught
    // here for the test's length instead of by the runner's own handler.
    const errors: unknown[] = [];
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (err) => errors.push(err));
    try {
      controller.abort();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const listener of saved) process.on('uncaughtException', listener);
    }
    expect(reasons).toEqual(['aborted']);
    expect(errors).toEqual([new Error('caller bug')]);
  });
});
