import type { GpuInfo, GpuSnapshot } from '../../src-shared/protocol.js';
import { isObject, num, numOrNull, str, strOrNull } from './loose-json.js';

/** Memory samples kept per GPU for its sparkline (two minutes at the default 2 s poll). */
export const GPU_HISTORY = 60;

/** The dashboard's picture of the GPUs (CONTRACT §11). */
export interface GpuState {
  /** The latest `gpu` message; null before one arrived (and after a resync, until the next). */
  snapshot: GpuSnapshot | null;
  /** Memory used (MiB) per GPU uuid, oldest first, at most GPU_HISTORY samples. */
  history: Record<string, number[]>;
}

/** A `gpu` message arrived, or the socket resynced (a new snapshot). */
export type GpuAction = { type: 'gpu'; message: unknown } | { type: 'resync' };

export const initialGpuState: GpuState = { snapshot: null, history: {} };

type Process = GpuInfo['processes'][number];

function processOf(raw: unknown): Process | null {
  if (!isObject(raw) || typeof raw.pid !== 'number') return null;
  // An empty name is no owner: it lands in "other" like an unattributed process.
  return { pid: raw.pid, usedMiB: numOrNull(raw.usedMiB), service: strOrNull(raw.service) || null };
}

function gpuOf(raw: unknown, position: number): GpuInfo | null {
  if (!isObject(raw)) return null;
  const index = num(raw.index, position);
  return {
    index,
    uuid: str(raw.uuid, `GPU-${index}`),
    name: str(raw.name, ''),
    memoryUsedMiB: numOrNull(raw.memoryUsedMiB),
    memoryTotalMiB: numOrNull(raw.memoryTotalMiB),
    utilizationPct: numOrNull(raw.utilizationPct),
    temperatureC: numOrNull(raw.temperatureC),
    powerW: numOrNull(raw.powerW),
    processes: Array.isArray(raw.processes) ? raw.processes.map(processOf).filter((p): p is Process => p !== null) : [],
  };
}

/** A GpuSnapshot from untrusted JSON: anything missing reads as "not reported", never as 0. */
export function normaliseGpuSnapshot(raw: unknown): GpuSnapshot | null {
  if (!isObject(raw)) return null;
  const available = raw.available === true;
  const gpus = available && Array.isArray(raw.gpus) ? raw.gpus.map(gpuOf).filter((g): g is GpuInfo => g !== null) : [];
  return { available, reason: strOrNull(raw.reason), gpus, timestamp: str(raw.timestamp, '') };
}

/**
 * The latest message replaces the picture and adds one memory sample per GPU. A resync forgets
 * the picture (the server sends a fresh one right after its snapshot, and only if a GPU is usable,
 * so a GPU lost while disconnected disappears) but keeps the history for the sparklines.
 */
export function gpuReducer(state: GpuState, action: GpuAction): GpuState {
  if (action.type === 'resync') return state.snapshot === null ? state : { ...state, snapshot: null };
  const snapshot = normaliseGpuSnapshot(action.message);
  if (!snapshot) return state;
  const history: Record<string, number[]> = {};
  for (const g of snapshot.gpus) {
    const past = state.history[g.uuid] ?? [];
    history[g.uuid] = g.memoryUsedMiB === null ? past : [...past, g.memoryUsedMiB].slice(-GPU_HISTORY);
  }
  return { snapshot, history };
}

/** Sum of the reported sizes; null when none of them was reported. */
function sumKnown(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}

/** One part of a GPU's memory bar: a service, or everything that is not a Warden service. */
export interface MemorySegment {
  /** The service, or null for "other". */
  service: string | null;
  usedMiB: number;
  /** Share of the GPU's total memory, in percent (the segments never add up past 100). */
  pct: number;
}

/**
 * The bar's segments: one per service (its processes summed, by name), then "other": processes of
 * no Warden service plus memory no listed process accounts for, so the bar fills as far as the
 * memory in use. Empty when the total is not reported (nothing to scale by).
 */
export function memorySegments(g: GpuInfo): MemorySegment[] {
  const total = g.memoryTotalMiB;
  if (total === null || total <= 0) return [];
  const byService = new Map<string, number>();
  let unowned = 0;
  let listed = 0;
  for (const p of g.processes) {
    const used = p.usedMiB ?? 0;
    listed += used;
    if (p.service === null) unowned += used;
    else byService.set(p.service, (byService.get(p.service) ?? 0) + used);
  }
  const other = unowned + Math.max(0, (g.memoryUsedMiB ?? 0) - listed);
  // Sorted by name: a service keeps its place in the bar from sample to sample.
  const services = [...byService].sort(([a], [b]) => a.localeCompare(b));
  const parts: { service: string | null; usedMiB: number }[] = [...services.map(([service, usedMiB]) => ({ service, usedMiB })), { service: null, usedMiB: other }];
  let room = 100;
  const out: MemorySegment[] = [];
  for (const part of parts) {
    if (part.usedMiB <= 0) continue;
    const pct = Math.min(room, (part.usedMiB / total) * 100);
    room -= pct;
    out.push({ ...part, pct });
  }
  return out;
}

/** What one service holds on one GPU (usedMiB null: its processes are listed, their size is not). */
export interface VramShare {
  gpu: number;
  usedMiB: number | null;
}

/** Each service's VRAM per GPU, from the processes the latest message attributes to it. */
export function vramByService(snapshot: GpuSnapshot | null): Record<string, VramShare[]> {
  const out: Record<string, VramShare[]> = {};
  if (!snapshot?.available) return out;
  for (const g of snapshot.gpus) {
    const sizes = new Map<string, (number | null)[]>();
    for (const p of g.processes) if (p.service !== null) sizes.set(p.service, [...(sizes.get(p.service) ?? []), p.usedMiB]);
    for (const [service, list] of sizes) (out[service] ??= []).push({ gpu: g.index, usedMiB: sumKnown(list) });
  }
  return out;
}
