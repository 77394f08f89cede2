import { readdirSync, readFileSync } from 'node:fs';

/** State letter and process group of a pid from /proc/PID/stat, or null when it is gone. */
function procStat(pid: number | string): { state: string; pgrp: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid pgrp …" — comm may hold spaces or ')', so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', pgrp: Number(fields[2]) };
}

/** Pids of every process (zombies included) whose process group is `pgid`. */
export function groupPids(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => procStat(e)?.pgrp === pgid)
    .map(Number);
}

/** True while the process exists and is not a zombie (PID 1 reaps orphans slowly here). */
export function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

/** A value that passed a truthiness check. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Poll `fn` until it returns a truthy value; throws after `timeoutMs`. Returns that value. */
export async function waitUntil<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`waitUntil: condition not met within ${timeoutMs} ms: ${fn.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** SIGKILL the process group led by `pid` (what a test started); no error if it is already gone. */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  // kill(0) and kill(-1) would hit our own group or every process: never.
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** SIGKILL one process by pid; no error if it is already gone. */
export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
