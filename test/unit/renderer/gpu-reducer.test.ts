import { describe, expect, it } from 'vitest';
import { GPU_HISTORY, gpuReducer, initialGpuState, memorySegments, normaliseGpuSnapshot, vramByService } from '../../../src-renderer/state/gpu-reducer.js';
import { gpu0, gpuMessage, NO_GPU } from './gpu-fixtures.js';

describe('gpu messages from untrusted JSON', () => {
  it('keeps a well-formed message as it is (less the type)', () => {
    const { type: _type, ...snapshot } = gpuMessage(gpu0());
    expect(normaliseGpuSnapshot(gpuMessage(gpu0()))).toEqual(snapshot);
  });

  it('missing or malformed fields read as "not reported" (null), never as 0', () => {
    const s = normaliseGpuSnapshot({
      available: true,
      gpus: [
        { memoryUsedMiB: '12', utilizationPct: Number.NaN, processes: [{ pid: 7, usedMiB: null, service: '' }, { pid: 'x' }, null] },
        'junk',
        { index: 3, uuid: 'GPU-3', name: 'A2000', processes: 'none' },
      ],
    });
    expect(s).toEqual({
      available: true,
      reason: null,
      timestamp: '',
      gpus: [
        // No index: its position; an empty service name owns nothing.
        { index: 0, uuid: 'GPU-0', name: '', memoryUsedMiB: null, memoryTotalMiB: null, utilizationPct: null, temperatureC: null, powerW: null, processes: [{ pid: 7, usedMiB: null, service: null }] },
        { index: 3, uuid: 'GPU-3', name: 'A2000', memoryUsedMiB: null, memoryTotalMiB: null, utilizationPct: null, temperatureC: null, powerW: null, processes: [] },
      ],
    });
  });

  it('unavailable drops any GPUs sent along; a non-object is no message', () => {
    expect(normaliseGpuSnapshot({ ...NO_GPU, gpus: [gpu0()] })).toMatchObject({ available: false, reason: 'nvidia-smi not found', gpus: [] });
    expect(normaliseGpuSnapshot({ available: 'yes', gpus: 'x' })).toMatchObject({ available: false, gpus: [] });
    expect(normaliseGpuSnapshot(null)).toBeNull();
    expect(normaliseGpuSnapshot([gpu0()])).toBeNull();
  });
});

describe('gpu reducer', () => {
  it('keeps the last 60 memory samples per GPU, skipping samples without one', () => {
    let s = initialGpuState;
    for (let i = 1; i <= GPU_HISTORY + 3; i++) s = gpuReducer(s, { type: 'gpu', message: gpuMessage(gpu0({ memoryUsedMiB: i })) });
    expect(s.history['GPU-0aaa']).toHaveLength(GPU_HISTORY);
    expect(s.history['GPU-0aaa']?.[0]).toBe(4);
    expect(s.history['GPU-0aaa']?.at(-1)).toBe(GPU_HISTORY + 3);
    const skipped = gpuReducer(s, { type: 'gpu', message: gpuMessage(gpu0({ memoryUsedMiB: null })) });
    expect(skipped.history['GPU-0aaa']).toEqual(s.history['GPU-0aaa']);
    expect(skipped.snapshot?.gpus[0]?.memoryUsedMiB).toBeNull();
  });

  it('a GPU that is gone takes its history with it; no GPU clears all', () => {
    const two = gpuReducer(initialGpuState, { type: 'gpu', message: gpuMessage(gpu0(), gpu0({ index: 1, uuid: 'GPU-1' })) });
    expect(Object.keys(two.history)).toEqual(['GPU-0aaa', 'GPU-1']);
    const one = gpuReducer(two, { type: 'gpu', message: gpuMessage(gpu0()) });
    expect(Object.keys(one.history)).toEqual(['GPU-0aaa']);
    const none = gpuReducer(one, { type: 'gpu', message: NO_GPU });
    expect(none).toEqual({ snapshot: { available: false, reason: 'nvidia-smi not found', gpus: [], timestamp: NO_GPU.timestamp }, history: {} });
  });

  it('a resync forgets the picture but keeps the history; junk changes nothing', () => {
    const s = gpuReducer(initialGpuState, { type: 'gpu', message: gpuMessage(gpu0()) });
    const r = gpuReducer(s, { type: 'resync' });
    expect(r.snapshot).toBeNull();
    expect(r.history).toBe(s.history);
    expect(gpuReducer(r, { type: 'resync' })).toBe(r);
    expect(gpuReducer(s, { type: 'gpu', message: 'junk' })).toBe(s);
  });
});

describe('memory bar segments', () => {
  it('one per service (summed, by name), then "other" for unowned processes and unlisted memory', () => {
    expect(memorySegments(gpu0()).map((s) => [s.service, s.usedMiB])).toEqual([
      ['nemotron', 512],
      ['rtdetr', 17510],
      [null, 614],
    ]);
    const sum = memorySegments(gpu0()).reduce((a, s) => a + s.pct, 0);
    expect(sum).toBeCloseTo((18636 / 24564) * 100, 6);
  });

  it('processes without a size and an empty "other" add no segment', () => {
    const g = gpu0({ memoryUsedMiB: 1024, processes: [{ pid: 1, usedMiB: 1024, service: 'a' }, { pid: 2, usedMiB: null, service: 'b' }] });
    expect(memorySegments(g)).toEqual([{ service: 'a', usedMiB: 1024, pct: (1024 / 24564) * 100 }]);
  });

  it('never overflows the bar when processes report more than the total', () => {
    const g = gpu0({ memoryTotalMiB: 1000, memoryUsedMiB: null, processes: [{ pid: 1, usedMiB: 800, service: 'a' }, { pid: 2, usedMiB: 800, service: 'b' }] });
    expect(memorySegments(g).map((s) => s.pct)).toEqual([80, 20]);
  });

  it('nothing to draw without a total', () => {
    expect(memorySegments(gpu0({ memoryTotalMiB: null }))).toEqual([]);
    expect(memorySegments(gpu0({ memoryTotalMiB: 0 }))).toEqual([]);
  });
});

describe('VRAM per service', () => {
  it('sums a service per GPU, across GPUs; unsized processes give null, not 0', () => {
    const snap = normaliseGpuSnapshot(
      gpuMessage(gpu0(), gpu0({ index: 1, uuid: 'GPU-1', processes: [{ pid: 9, usedMiB: 2048, service: 'rtdetr' }, { pid: 10, usedMiB: null, service: 'whisper' }] })),
    );
    expect(vramByService(snap)).toEqual({
      rtdetr: [
        { gpu: 0, usedMiB: 17510 },
        { gpu: 1, usedMiB: 2048 },
      ],
      nemotron: [{ gpu: 0, usedMiB: 512 }],
      whisper: [{ gpu: 1, usedMiB: null }],
    });
  });

  it('nothing before a message or without a usable GPU', () => {
    expect(vramByService(null)).toEqual({});
    expect(vramByService(normaliseGpuSnapshot(NO_GPU))).toEqual({});
  });
});
