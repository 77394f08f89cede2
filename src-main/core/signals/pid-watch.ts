import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** kill(pid, 0): the process exists (EPERM: it does, it is someone else's). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** From /proc/PID/stat: not a zombie (null: no /proc, kill(0) is all we know). */
function notZombie(stat: string | null): boolean {
  if (stat === null) return true;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Alive and not a zombie (a dead process waiting for PID 1 to reap it holds nothing). */
export async function pidAlive(pid: number, procRoot = '/proc'): Promise<boolean> {
  return exists(pid) && notZombie(await readFile(`${procRoot}/${pid}/stat`, 'utf8').catch(() => null));
}

/** pidAlive, synchronously: for a look taken once at a decision (a restart's start, a demo tick). */
export function pidAliveSync(pid: number, procRoot = '/proc'): boolean {
  if (!exists(pid)) return false;
  try {
    return notZombie(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * Watches the pid in a service's pidfile (re-read each time, since a restart writes a new one) and
 * calls `onDied` when a pid seen alive is gone. A cheap poll of kill(pid, 0) and /proc.
 */
export class PidWatch {
  private timer: NodeJS.Timeout | null = null;
  private alivePid: number | null = null;
  private stopped = false;

  constructor(
    readonly pidfile: string,
    private readonly onDied: (pid: number) => void,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    void this.poll();
  }

  /** The pid last seen alive, or null. */
  get watching(): number | null {
    return this.alivePid;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    const text = await readFile(this.pidfile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    const alive = Number.isInteger(pid) && pid > 0 && (await pidAlive(pid));
    if (this.stopped) return;
    if (this.alivePid !== null && (!alive || pid !== this.alivePid)) {
      const died = this.alivePid;
      // A new pid in the file with the old one still alive is a hand-over, not a death.
      if (!(await pidAlive(died))) this.onDied(died);
    }
    this.alivePid = alive ? pid : null;
    this.timer = setTimeout(() => void this.poll(), this.intervalMs);
  }
}
