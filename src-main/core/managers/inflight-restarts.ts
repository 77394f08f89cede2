import { readFileSync, renameSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Restarts in flight, one file each under `<dataDir>/inflight/` (CONTRACT §9.1, §10): written the
 * moment a restart command is spawned and removed when it ends, so a Warden killed mid-restart
 * (SIGKILL, OOM killer, power loss) leaves a record the next Warden adopts — it waits for that
 * command, or kills its group at the deadline — instead of starting a second restart beside it
 * (two model servers loading on one GPU).
 */
export interface InflightRestart {
  service: string;
  /** The command's process group (its leader's pid). */
  pgid: number;
  /** When it started and when its restartTimeout runs out (epoch ms). */
  startedAt: number;
  deadline: number;
  /** The leader's identity, so a pid reused after a reboot or a wrap-around is never taken for it. */
  bootId: string;
  startTicks: string;
}

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/** One folder of records. Writes are synchronous: nothing may come between a spawn and its record. */
export class InflightRestarts {
  constructor(
    readonly dir: string,
    private readonly procRoot = '/proc',
  ) {}

  /** Record a restart that has just been spawned (atomically: temp file + rename). */
  record(service: string, pgid: number, timeoutMs: number, now = Date.now()): void {
    const entry: InflightRestart = { service, pgid, startedAt: now, deadline: now + timeoutMs, bootId: bootId(), startTicks: startTicks(pgid, this.procRoot) ?? '' };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(service);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  /** The restart of this service ended (or was adopted and ended). */
  remove(service: string, pgid: number): void {
    const current = this.read(this.file(service));
    if (current?.pgid === pgid) rmSync(this.file(service), { force: true });
  }

  /**
   * What a previous Warden left: each record whose command is still running (same boot, same
   * leader), and the names of stale ones, which are removed.
   */
  survivors(): { live: InflightRestart[]; stale: string[] } {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return { live: [], stale: [] };
    }
    const live: InflightRestart[] = [];
    const stale: string[] = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      const entry = this.read(file);
      if (entry && this.running(entry)) live.push(entry);
      else {
        stale.push(entry?.service ?? name);
        rmSync(file, { force: true });
      }
    }
    return { live, stale };
  }

  /** The recorded command's leader is still that process, alive (a zombie has finished). */
  running(entry: InflightRestart): boolean {
    if (entry.bootId !== bootId()) return false;
    const ticks = startTicks(entry.pgid, this.procRoot);
    return ticks !== null && ticks === entry.startTicks;
  }

  private file(service: string): string {
    return path.join(this.dir, `${service}.json`);
  }

  private read(file: string): InflightRestart | null {
    try {
      const e = JSON.parse(readFileSync(file, 'utf8')) as Partial<InflightRestart>;
      const ok =
        typeof e.service === 'string' && Number.isInteger(e.pgid) && e.pgid! > 1 && isTime(e.startedAt) && isTime(e.deadline) && typeof e.bootId === 'string' && typeof e.startTicks === 'string';
      return ok ? (e as InflightRestart) : null;
    } catch {
      return null;
    }
  }
}

/**
 * A time a Date can hold. A record's times reach the recovery engine, which writes them into
 * messages as ISO dates: one out of range (a corrupt file) would throw there, in the middle of a
 * step that is made in place (monitor/transitions.ts transitionInPlace).
 */
function isTime(t: unknown): t is number {
  return typeof t === 'number' && Math.abs(t) <= 8.64e15;
}

function bootId(): string {
  try {
    return readFileSync(BOOT_ID_FILE, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); null when gone or a zombie. */
function startTicks(pid: number, procRoot: string): string | null {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  return fields[19] ?? null;
}
