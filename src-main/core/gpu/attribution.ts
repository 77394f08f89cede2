import { readFile } from 'node:fs/promises';

/** A service that may own GPU processes: by its process group (shell) or its container (docker). */
export interface GpuOwner {
  service: string;
  pgid?: number;
  /** The container's full id, as it appears in a process's cgroup path. */
  containerId?: string;
}

/** The process group and the cgroup lines of a pid (null when it is gone). */
async function processOf(pid: number, procRoot: string): Promise<{ pgid: number; cgroup: string } | null> {
  const stat = await readFile(`${procRoot}/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return null;
  const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  const cgroup = await readFile(`${procRoot}/${pid}/cgroup`, 'utf8').catch(() => '');
  return { pgid, cgroup };
}

/**
 * Which service a GPU process belongs to (CONTRACT §11): the one whose server leads its process
 * group (shell strategy: the pidfile's server is a session and group leader), or whose container's
 * id is in its cgroup path (docker strategy). nvidia-smi reports host pids, so both are read from
 * the host's /proc.
 */
export async function attribute(pids: number[], owners: GpuOwner[], procRoot = '/proc'): Promise<Map<number, string | null>> {
  const out = new Map<number, string | null>();
  await Promise.all(
    pids.map(async (pid) => {
      const p = await processOf(pid, procRoot);
      // A listed pid that is gone (its memory not yet released) is still its group's, if it led it.
      const owner = p ? owners.find((o) => (o.pgid !== undefined && o.pgid === p.pgid) || (o.containerId !== undefined && p.cgroup.includes(o.containerId))) : owners.find((o) => o.pgid === pid);
      out.set(pid, owner?.service ?? null);
    }),
  );
  return out;
}

/**
 * The process group of the pid a pidfile names (the server the ai/ scripts started), or undefined.
 * A server that is gone led its own group (the scripts start it with setsid): its pid is that group's
 * id, which its children and its entry in compute-apps, lingering while the driver frees its memory, still carry.
 */
export async function pgidFromPidfile(file: string, procRoot = '/proc'): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return (await processOf(pid, procRoot))?.pgid ?? pid;
}
