import { execFile } from 'node:child_process';
import { childEnvironment } from '../managers/shell-service-manager.js';
import { APP_FIELDS, GPU_FIELDS, parseAppLine, parseGpuLine, unavailableReason, type ComputeApp } from './smi-parse.js';
import type { GpuReading } from './smi-stream.js';

/**
 * The compute processes on every GPU, asked for on demand (CONTRACT §11); never blocks the event
 * loop, and gives up after `timeoutMs` (a hung driver). Rejects with the reason nvidia-smi gave.
 */
export async function queryComputeApps(smi: string, timeoutMs = 5_000): Promise<ComputeApp[]> {
  const out = await ask(smi, [`--query-compute-apps=${APP_FIELDS}`, '--format=csv,noheader,nounits'], timeoutMs);
  return out.split('\n').map(parseAppLine).filter((a): a is ComputeApp => a !== null);
}

/** Every GPU now, in one shot (the release gate's fresh look at free memory). */
export async function queryGpus(smi: string, timeoutMs = 5_000): Promise<GpuReading[]> {
  const out = await ask(smi, [`--query-gpu=${GPU_FIELDS}`, '--format=csv,noheader,nounits'], timeoutMs);
  return out.split('\n').map(parseGpuLine).filter((g): g is GpuReading => g !== null);
}

function ask(smi: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(smi, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, env: childEnvironment(process.env) }, (err, stdout, stderr) => {
      if (err) {
        const why = unavailableReason(`${stdout}\n${stderr}`) ?? (err.killed ? `${smi} did not answer within ${timeoutMs} ms` : err.message.split('\n')[0]!);
        reject(new Error(why));
        return;
      }
      resolve(stdout);
    });
  });
}
