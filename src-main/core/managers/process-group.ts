import { readdir, readFile } from 'node:fs/promises';

/** Send a signal to every process of a group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  // kill(0)/kill(-1) would reach our own group or every process.
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`refusing to signal process group ${pgid}`);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * Whether any process of the group is still running. Zombies do not count: orphans wait for
 * PID 1 to reap them, which can take a while, and they hold nothing. Without /proc (not Linux),
 * falls back to kill(-pgid, 0), which counts zombies as alive.
 */
export async function groupHasLiveMembers(pgid: number, procRoot = '/proc'): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return signalGroup(pgid, 0);
  }
  const states = await Promise.all(
    entries.filter((e) => /^\d+$/.test(e)).map((e) => readFile(`${procRoot}/${e}/stat`, 'utf8').catch(() => '')),
  );
  return states.some((stat) => {
    // Fields after the command name, which is in parentheses and may itself hold spaces or ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[2] === String(pgid) && fields[0] !== 'Z' && fields[0] !== 'X';
  });
}

/** How a group was stopped: it was already gone, it left on SIGTERM, or it needed SIGKILL. */
export type StopOutcome = 'gone' | 'terminated' | 'killed';

/** Poll until no live process is left in the group; false if `ms` passes first. */
export async function waitForGroupExit(pgid: number, ms: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await groupHasLiveMembers(pgid))) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
  }
}

/**
 * SIGTERM the whole group, give it `graceMs` to leave (checking often, so a group that exits
 * promptly is not waited on), then SIGKILL whatever is left and wait (up to `graceMs` again)
 * until it is really gone, so the ports and files it held are free when this resolves.
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<StopOutcome> {
  if (!signalGroup(pgid, 'SIGTERM')) return 'gone';
  if (await waitForGroupExit(pgid, graceMs)) return 'terminated';
  signalGroup(pgid, 'SIGKILL');
  await waitForGroupExit(pgid, graceMs);
  return 'killed';
}
