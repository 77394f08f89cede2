import { readFile } from 'node:fs/promises';

/** Alive and not a zombie (a dead process waiting for PID 1 to reap it holds nothing). */
export async function pidAlive(pid: number, procRoot = '/proc'): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = await readFile(`${procRoot}/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return true; // no /proc: kill(0) is all we know
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
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
