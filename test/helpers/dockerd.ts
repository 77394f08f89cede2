/**
 * A private, throw-away Docker daemon for integration tests (notes/test-infrastructure.md).
 *
 * Each docker test file starts one in beforeAll and stops it in afterAll. The daemon has no bridge,
 * no iptables and no Docker Hub: images are built locally from the static busybox, and every
 * container runs with NetworkMode 'host' and listens on 127.0.0.1 only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, copyFile, symlink, rm, readFile, chmod } from 'node:fs/promises';
import { openSync, closeSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import Dockerode from 'dockerode';
export { freePort } from '../../src-main/demo/shell-words.js';
export { pollUntil } from './poll.js';

/** The locally built web image every docker test uses. */
export const WEB_IMAGE = 'warden-test/busybox-web:1';

const STATIC_BUSYBOX = '/bin/busybox';
const START_DEADLINE_MS = 45_000;
const STOP_GRACE_MS = 15_000;

/** A running private daemon and how to take it down again. */
export interface PrivateDockerd {
  socketPath: string;
  docker: Dockerode;
  /** Seconds from spawn to the first successful `/_ping`. */
  startSeconds: number;
  stop(): Promise<void>;
}

/** Start dockerd on a private socket in a fresh temp dir; resolves once `/_ping` answers. */
export async function startDockerd(): Promise<PrivateDockerd> {
  // Keep the base short: unix socket paths (exec/containerd/containerd.sock.ttrpc) max out at 108 bytes.
  const base = await mkdtemp(join(tmpdir(), 'wdk.'));
  const socketPath = join(base, 'docker.sock');
  const pidfile = join(base, 'dockerd.pid');
  const logPath = join(base, 'dockerd.log');
  const logFd = openSync(logPath, 'a');
  const started = performance.now();
  let child: ChildProcess;
  try {
    child = spawn(
      'dockerd',
      [
        '--host', `unix://${socketPath}`,
        '--data-root', join(base, 'root'),
        '--exec-root', join(base, 'exec'),
        '--pidfile', pidfile,
        '--storage-driver', 'overlay2',
        '--bridge', 'none',
        '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false',
        '--userland-proxy=false',
        '--exec-opt', 'native.cgroupdriver=cgroupfs',
      ],
      {
        detached: true, // own process group: stop() can signal the whole group
        stdio: ['ignore', logFd, logFd],
        env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin` },
      },
    );
  } finally {
    closeSync(logFd);
  }
  let exited: { code: number | null; signal: string | null } | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      exited = { code: null, signal: err.message };
      resolve();
    });
  });

  // Last resort if the test process exits without afterAll (an exit handler must be synchronous).
  const onExit = () => forceCleanup(base);
  process.once('exit', onExit);

  const docker = new Dockerode({ socketPath });
  const daemon: PrivateDockerd = {
    socketPath,
    docker,
    startSeconds: 0,
    stop: async () => {
      process.removeListener('exit', onExit);
      await stopDaemon({ base, pidfile, child, docker, exitPromise, isExited: () => exited !== null });
    },
  };

  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (exited) {
      const tail = await logTail(logPath);
      await daemon.stop();
      throw new Error(`dockerd exited during start (${JSON.stringify(exited)}); log tail:\n${tail}`);
    }
    const ok = await pingWithin(docker, 2_000).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      const tail = await logTail(logPath);
      await daemon.stop();
      throw new Error(`dockerd did not answer /_ping within ${START_DEADLINE_MS} ms; log tail:\n${tail}`);
    }
    await delay(100);
  }
  daemon.startSeconds = (performance.now() - started) / 1000;
  return daemon;
}

/** GET /_ping, aborted after ms (dockerode takes an abortSignal here; its typings do not say so). */
function pingWithin(docker: Dockerode, ms: number): Promise<unknown> {
  const ping = docker.ping.bind(docker) as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  return ping({ abortSignal: AbortSignal.timeout(ms) });
}

async function logTail(path: string, lines = 30): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

interface StopArgs {
  base: string;
  pidfile: string;
  child: ChildProcess;
  docker: Dockerode;
  exitPromise: Promise<void>;
  isExited: () => boolean;
}

async function stopDaemon({ base, pidfile, child, docker, exitPromise, isExited }: StopArgs): Promise<void> {
  if (!isExited()) {
    // Every container on a private daemon is ours.
    const containers = await docker.listContainers({ all: true, abortSignal: AbortSignal.timeout(10_000) }).catch(() => []);
    await Promise.all(
      containers.map((c) => docker.getContainer(c.Id).remove({ force: true, abortSignal: AbortSignal.timeout(10_000) }).catch(() => undefined)),
    );
    const fromFile = Number.parseInt(await readFile(pidfile, 'utf8').catch(() => ''), 10);
    const pid = Number.isInteger(fromFile) && fromFile > 0 ? fromFile : child.pid;
    if (pid !== undefined) signal(pid, 'SIGTERM');
    const grace = new AbortController();
    const graceful = await Promise.race([
      exitPromise.then(() => true),
      delay(STOP_GRACE_MS, false, { signal: grace.signal }).catch(() => false),
    ]);
    grace.abort(); // do not keep a 15 s timer alive after a quick exit
    if (!graceful && child.pid !== undefined) {
      signal(-child.pid, 'SIGKILL');
      await exitPromise;
    }
  }
  forceCleanup(base);
}

/**
 * Kill whatever still runs from a daemon's base dir and remove it, synchronously: container
 * processes (found through the cgroups of the containers under base), then every process whose
 * command line names base (dockerd, containerd, shims: each in its own process group), then
 * `umount -l` everything mounted under base, deepest first, then the dir. Processes are found by
 * our unique temp path, never by name.
 */
export function forceCleanup(base: string): void {
  const ids = listDir(join(base, 'root', 'containers'));
  for (const id of ids) {
    for (const procs of [`/sys/fs/cgroup/pids/docker/${id}/cgroup.procs`, `/sys/fs/cgroup/docker/${id}/cgroup.procs`]) {
      for (const pid of readFileOr(procs).split('\n').filter(Boolean)) signal(Number(pid), 'SIGKILL');
    }
  }
  for (const pid of listDir('/proc').filter((d) => /^\d+$/.test(d)).map(Number)) {
    if (pid !== process.pid && readFileOr(`/proc/${pid}/cmdline`).includes(`${base}/`)) signal(pid, 'SIGKILL');
  }
  for (const point of mountsUnder(base)) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
  // cgroupfs driver: a daemon that was killed leaves its containers' (now empty) cgroups behind.
  for (const id of ids) {
    for (const dir of [...listDir('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}/docker/${id}`), `/sys/fs/cgroup/docker/${id}`]) {
      try {
        rmdirSync(dir);
      } catch {
        // absent, or its processes are not gone yet
      }
    }
  }
  rmSync(base, { recursive: true, force: true, maxRetries: 3 });
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Mount points at or below base from /proc/self/mountinfo, deepest first. */
function mountsUnder(base: string): string[] {
  return readFileOr('/proc/self/mountinfo')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    // mountinfo escapes space, tab, newline and backslash as octal
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8))))
    .filter((p) => p === base || p.startsWith(`${base}/`))
    .sort((a, b) => b.split('/').length - a.split('/').length);
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const START_SCRIPT = `#!/bin/sh
# PID 1 of the test container. sh ignores TERM as PID 1 unless trapped: forward it so 'docker stop'
# is quick. READY=0 starts without /www/health (404) until a test writes it.
[ "$READY" = 0 ] && rm -f /www/health
httpd -f -p "127.0.0.1:$PORT" -h /www &
child=$!
trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
wait "$child"
`;

const BUSYBOX_APPLETS = ['sh', 'httpd', 'sleep', 'rm', 'wget', 'kill', 'cat', 'echo', 'ls', 'true', 'false'];

/** Build the 1 MB web image from the host's static busybox and import it under tag. */
export async function buildBusyboxImage(docker: Dockerode, tag = WEB_IMAGE): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wdk-img.'));
  try {
    const rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await mkdir(join(rootfs, 'www'));
    await mkdir(join(rootfs, 'tmp'));
    await copyFile(STATIC_BUSYBOX, join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of BUSYBOX_APPLETS) await symlink('busybox', join(rootfs, 'bin', applet));
    await writeFile(join(rootfs, 'www', 'health'), '{"status":"ok"}');
    await writeFile(join(rootfs, 'start.sh'), START_SCRIPT, { mode: 0o755 });

    const tar = spawn('tar', ['-C', rootfs, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [repo, version] = splitTag(tag);
    const progress = await docker.importImage(tar.stdout, { repo, tag: version });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(progress, (err: Error | null, out: Array<{ error?: string }>) => {
        const failed = out.find((o) => o.error);
        if (err) reject(err);
        else if (failed) reject(new Error(`image import failed: ${failed.error}`));
        else resolve();
      });
    });
    await docker.getImage(tag).inspect();
    return tag;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function splitTag(tag: string): [string, string] {
  const at = tag.lastIndexOf(':');
  return at > 0 ? [tag.slice(0, at), tag.slice(at + 1)] : [tag, 'latest'];
}

/** Options for one test web container. */
export interface WebContainerOptions {
  name: string;
  port: number;
  /** Add a HEALTHCHECK (every 1 s, 1 failure → unhealthy) fetching /health. */
  healthcheck?: boolean;
  /** Seconds during which failed health checks keep the status 'starting'. */
  startPeriodSeconds?: number;
  /** false: start without /www/health (the check fails until a test writes it). */
  ready?: boolean;
  image?: string;
  /** Replace the start script (e.g. a PID 1 that ignores SIGTERM). */
  cmd?: string[];
  /** Create only; do not start. */
  start?: boolean;
}

/** Create and start a container serving /www on 127.0.0.1:port in the host network namespace. */
export async function createWebContainer(docker: Dockerode, opts: WebContainerOptions): Promise<Dockerode.Container> {
  const second = 1_000_000_000;
  const container = await docker.createContainer({
    name: opts.name,
    Image: opts.image ?? WEB_IMAGE,
    Cmd: opts.cmd ?? ['/start.sh'],
    Env: [`PORT=${opts.port}`, `READY=${opts.ready === false ? 0 : 1}`],
    // The networking rule: host namespace, loopback listener, never bridges or published ports.
    HostConfig: { NetworkMode: 'host' },
    ...(opts.healthcheck
      ? {
          Healthcheck: {
            Test: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${opts.port}/health`],
            Interval: second,
            Timeout: second,
            Retries: 1,
            StartPeriod: (opts.startPeriodSeconds ?? 0) * second,
          },
        }
      : {}),
  });
  if (opts.start !== false) await container.start();
  return container;
}

/** Run a command inside a container and resolve with its exit code. */
export async function execIn(container: Dockerode.Container, cmd: string[]): Promise<number> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ Detach: false, Tty: false });
  stream.resume();
  await once(stream, 'end');
  for (;;) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode ?? -1;
    await delay(20);
  }
}


