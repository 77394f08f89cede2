import { execFile } from 'node:child_process';
import { APP_FIELDS, parseAppLine, unavailableReason, type ComputeApp } from './smi-parse.js';

/**
 * The compute processes on every GPU, asked for on demand (CONTRACT §11); never blocks the event
 * loop, and gives up after `timeoutMs` (a hung driver). Rejects with the reason nvidia-smi gave.
 */
export function queryComputeApps(smi: string, timeoutMs = 5_000): Promise<ComputeApp[]> {
  return new Promise((resolve, reject) => {
    execFile(smi, [`--query-compute-apps=${APP_FIELDS}`, '--format=csv,noheader,nounits'], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = unavailableReason(`${stdout}\n${stderr}`) ?? (err.killed ? `${smi} did not answer within ${timeoutMs} ms` : err.message.split('\n')[0]!);
        reject(new Error(why));
        return;
      }
      resolve(stdout.split('\n').map(parseAppLine).filter((a): a is ComputeApp => a !== null));
    });
  });
}
