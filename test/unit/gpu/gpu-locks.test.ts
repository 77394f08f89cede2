import { describe, expect, it } from 'vitest';
import { GpuLocks } from '../../../src-main/core/gpu/gpu-locks.js';

// One load per GPU (CONTRACT §11): who holds a GPU, who waits, in what order, and for whom.
describe('one load per GPU', () => {
  it('hands a GPU on in the order services asked, and says for whom each waits', async () => {
    const locks = new GpuLocks();
    const order: string[] = [];
    const told: string[] = [];
    await locks.acquire(0, 'nemotron', (h) => told.push(`nemotron waits for ${h}`), new AbortController().signal);
    const detector = locks.acquire(0, 'rtdetr', (h) => told.push(`rtdetr waits for ${h}`), new AbortController().signal).then(() => order.push('rtdetr'));
    const third = locks.acquire(0, 'whisper', (h) => told.push(`whisper waits for ${h}`), new AbortController().signal).then(() => order.push('whisper'));
    expect(told).toEqual(['rtdetr waits for nemotron', 'whisper waits for nemotron']);
    expect(locks.holder(0)).toBe('nemotron');

    locks.release('nemotron');
    await detector;
    expect(locks.holder(0)).toBe('rtdetr');
    expect(order).toEqual(['rtdetr']);
    locks.release('rtdetr');
    await third;
    expect(order).toEqual(['rtdetr', 'whisper']);
    locks.release('whisper');
    expect(locks.holder(0)).toBeNull();
  });

  it('keeps GPUs apart, lets a holder ask again, and tryAcquire never waits', async () => {
    const locks = new GpuLocks();
    expect(locks.tryAcquire(0, 'nemotron')).toBe(true);
    expect(locks.tryAcquire(0, 'nemotron')).toBe(true); // already its own
    expect(locks.tryAcquire(0, 'rtdetr')).toBe(false);
    expect(locks.tryAcquire(1, 'rtdetr')).toBe(true); // another GPU
    await locks.acquire(0, 'nemotron', () => expect.fail('the holder never waits'), new AbortController().signal);
    locks.release('rtdetr');
    expect(locks.holder(1)).toBeNull();
    expect(locks.holder(0)).toBe('nemotron');
    locks.release('nobody'); // not a holder: nothing changes
    expect(locks.holder(0)).toBe('nemotron');
  });

  it('a wait that is no longer wanted leaves the line: the next one gets the GPU', async () => {
    const locks = new GpuLocks();
    locks.tryAcquire(0, 'nemotron');
    const gone = new AbortController();
    const abandoned = locks.acquire(0, 'rtdetr', () => undefined, gone.signal);
    const next = locks.acquire(0, 'whisper', () => undefined, new AbortController().signal);
    gone.abort();
    await expect(abandoned).rejects.toThrow('aborted');
    locks.release('nemotron');
    await next;
    expect(locks.holder(0)).toBe('whisper');
  });
});
