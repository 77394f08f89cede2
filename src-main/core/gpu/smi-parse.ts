import type { GpuInfo } from '../../../src-shared/protocol.js';

/** The --query-gpu fields Warden asks for, in this order (CONTRACT §11). */
export const GPU_FIELDS = 'index,uuid,name,memory.used,memory.total,utilization.gpu,temperature.gpu,power.draw';
/** The --query-compute-apps fields. */
export const APP_FIELDS = 'gpu_uuid,pid,used_memory';

/** One compute process as nvidia-smi lists it. */
export interface ComputeApp {
  gpuUuid: string;
  pid: number;
  usedMiB: number | null;
}

/** A number, or null for what nvidia-smi could not read ([N/A], [Not Supported], blank). */
function num(text: string | undefined): number | null {
  const t = (text ?? '').trim();
  if (t === '' || t.startsWith('[')) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** One line of `--query-gpu=<GPU_FIELDS> --format=csv,noheader,nounits`; null when it is not one. */
export function parseGpuLine(line: string): Omit<GpuInfo, 'processes'> | null {
  const f = line.split(',').map((x) => x.trim());
  if (f.length < 8) return null;
  const index = num(f[0]);
  if (index === null || !Number.isInteger(index)) return null;
  // A GPU name may itself hold commas: it is everything between the uuid and the last five fields.
  const name = f.slice(2, f.length - 5).join(', ');
  const [used, total, util, temp, power] = f.slice(-5).map(num) as (number | null)[];
  return { index, uuid: f[1]!, name, memoryUsedMiB: used!, memoryTotalMiB: total!, utilizationPct: util!, temperatureC: temp!, powerW: power! };
}

/** One line of `--query-compute-apps=<APP_FIELDS>`; null when it is not one. */
export function parseAppLine(line: string): ComputeApp | null {
  const f = line.split(',').map((x) => x.trim());
  if (f.length !== 3) return null;
  const pid = num(f[1]);
  if (pid === null || !Number.isInteger(pid) || pid <= 0) return null;
  return { gpuUuid: f[0]!, pid, usedMiB: num(f[2]) };
}

/** Why nvidia-smi's output says there is no usable GPU, or null when it does not say so. */
export function unavailableReason(text: string): string | null {
  const t = text.trim();
  if (/No devices were found/i.test(t)) return 'No devices were found (no NVIDIA GPU)';
  if (/NVIDIA-SMI has failed|couldn't communicate with the NVIDIA driver|NVML|Failed to initialize/i.test(t)) return `NVIDIA driver error: ${t.split('\n')[0]!.slice(0, 200)}`;
  return null;
}
