import type { GpuInfo, GpuMessage } from '../../../src-shared/protocol.js';

/**
 * GPU 0 of a typical box: 18636 of 24564 MiB used (18.2 / 24.0 GiB). rtdetr holds 12288 + 5222 =
 * 17510 MiB in two processes, nemotron 512, one process of nobody Warden knows 500, and 114 MiB
 * no listed process accounts for (so "other" is 614).
 */
export function gpu0(over: Partial<GpuInfo> = {}): GpuInfo {
  return {
    index: 0,
    uuid: 'GPU-0aaa',
    name: 'NVIDIA GeForce RTX 4090',
    memoryUsedMiB: 18636,
    memoryTotalMiB: 24564,
    utilizationPct: 87,
    temperatureC: 64,
    powerW: 250.5,
    processes: [
      { pid: 100, usedMiB: 12288, service: 'rtdetr' },
      { pid: 101, usedMiB: 5222, service: 'rtdetr' },
      { pid: 102, usedMiB: 512, service: 'nemotron' },
      { pid: 103, usedMiB: 500, service: null },
    ],
    ...over,
  };
}

/** A `gpu` WebSocket message with the given GPUs (available). */
export function gpuMessage(...gpus: GpuInfo[]): GpuMessage {
  return { type: 'gpu', available: true, reason: null, gpus, timestamp: '2025-12-26T02:30:00.000Z' };
}

/** The message a machine without a usable GPU gets. */
export const NO_GPU: GpuMessage = { type: 'gpu', available: false, reason: 'nvidia-smi not found', gpus: [], timestamp: '2025-12-26T02:30:00.000Z' };
