/**
 * A real systemd as PID 1 of a container on the private test dockerd (issue 13), with Debian's
 * redis-server as a real unit, and its system bus's socket bind-mounted out so Warden talks to it.
 *
 * The image is built offline-capable from Debian packages (mmdebstrap against the machine's apt
 * sources, ~70 s once) and kept as a tarball in the cache folder; each run `docker import`s it
 * (~4 s). Not privileged: this machine's root lacks CAP_SYS_RESOURCE, so every other capability is
 * added by name, with the host's cgroup tree and cgroup namespace.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { waitUntil } from './process-tree.js';

export const SYSTEMD_IMAGE = 'warden-test/systemd-redis:1';
const CACHE = process.env.WARDEN_TEST_CACHE ?? '/var/cache/warden-tests';
const ROOTFS = path.join(CACHE, 'systemd-redis-bookworm.tar');
/** Every capability this machine's root has (CAP_SYS_RESOURCE is not among them). */
const CAPS = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ'];

/** The rootfs tarball, built once with mmdebstrap (systemd, dbus, redis-server from Debian bookworm). */
export function ensureRootfs(): string {
  const found = fs.statSync(ROOTFS, { throwIfNoEntry: false });
  if (found?.isFile()) return ROOTFS;
  // A directory there is an unpacked tree an earlier build left (mmdebstrap picks its output format
  // from the file name, and "….tar.partial" is not a tar's): built again, as a tarball this time.
  if (found?.isDirectory()) fs.rmSync(ROOTFS, { recursive: true, force: true });
  fs.mkdirSync(CACHE, { recursive: true });
  const partial = `${ROOTFS}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  const r = spawnSync('mmdebstrap', ['--variant=minbase', '--format=tar', '--include=systemd,systemd-sysv,dbus,redis-server', '--mode=root', 'bookworm', partial], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
  if (r.status !== 0) throw new Error(`mmdebstrap failed (${r.status ?? r.signal}): ${r.stderr?.toString().slice(-2000)}`);
  fs.renameSync(partial, ROOTFS);
  return ROOTFS;
}

export async function importImage(docker: Dockerode): Promise<void> {
  const stream = fs.createReadStream(ensureRootfs());
  const importImage = docker.importImage.bind(docker) as unknown as (file: NodeJS.ReadableStream, opts: object) => Promise<NodeJS.ReadableStream>;
  const out = await importImage(stream, { repo: 'warden-test/systemd-redis', tag: '1' });
  await new Promise((resolve, reject) => docker.modem.followProgress(out, (err: unknown) => (err ? reject(err as Error) : resolve(null))));
}

/** A booted systemd container. */
export interface SystemdContainer {
  container: Dockerode.Container;
  /** `unix:path=…` of its system bus, on this machine. */
  busAddress: string;
  /** The folder of that socket (chmod it to let another user in). */
  busDir: string;
  redisPort: number;
  /** Run a command inside; resolves with its exit code and output. */
  exec(cmd: string[]): Promise<{ code: number; output: string }>;
  stop(): Promise<void>;
}

/**
 * Boot systemd with redis-server on `redisPort` (host network, 127.0.0.1) and Restart=no, so a
 * crash stays a crash for Warden to handle rather than systemd's own restart.
 */
export async function startSystemdContainer(docker: Dockerode, redisPort: number): Promise<SystemdContainer> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wsd-'));
  await fsp.chmod(dir, 0o755); // another user may reach the bus socket (the access-denied test)
  const busDir = path.join(dir, 'dbus');
  await fsp.mkdir(busDir);
  const conf = path.join(dir, 'redis.conf');
  await fsp.writeFile(conf, `port ${redisPort}\nbind 127.0.0.1\nprotected-mode yes\nsupervised systemd\ndaemonize no\ndir /var/lib/redis\nsave ""\nappendonly no\nlogfile ""\n`, { mode: 0o644 });
  const dropIn = path.join(dir, 'warden-test.conf');
  await fsp.writeFile(dropIn, '[Service]\nRestart=no\n', { mode: 0o644 });
  const container: Dockerode.Container = await docker.createContainer({
    Image: SYSTEMD_IMAGE,
    Cmd: ['/lib/systemd/systemd', '--system'],
    Env: ['container=docker'],
    StopSignal: 'SIGRTMIN+3',
    HostConfig: {
      NetworkMode: 'host',
      CgroupnsMode: 'host',
      CapAdd: CAPS,
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw', `${busDir}:/run/dbus`, `${conf}:/etc/redis/redis.conf:ro`, `${dropIn}:/etc/systemd/system/redis-server.service.d/warden-test.conf:ro`],
      Tmpfs: { '/run': 'rw,exec', '/run/lock': 'rw', '/tmp': 'rw' },
    } as Dockerode.HostConfig,
  });
  await container.start();
  const exec = async (cmd: string[]) => {
    const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    let output = '';
    stream.on('data', (b: Buffer) => (output += b.toString('utf8')));
    await new Promise((resolve) => stream.on('end', resolve));
    const { ExitCode } = await e.inspect();
    // The multiplexed stream's 8-byte frame headers: keep the text only.
    // eslint-disable-next-line no-control-regex -- the stream's frame headers are exactly such bytes
    return { code: ExitCode ?? -1, output: output.replace(/[\u0000-\u0008]/g, '') };
  };
  const sd: SystemdContainer = {
    container,
    busAddress: `unix:path=${path.join(busDir, 'system_bus_socket')}`,
    busDir,
    redisPort,
    exec,
    async stop() {
      await container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
      await container.remove({ force: true }).catch(() => undefined);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitUntil(async () => /^(running|degraded)/.test((await exec(['systemctl', 'is-system-running'])).output.trim()), { timeoutMs: 60_000, intervalMs: 250 });
    await waitUntil(async () => (await exec(['systemctl', 'is-active', 'redis-server'])).output.trim() === 'active', { timeoutMs: 30_000, intervalMs: 250 });
  } catch (err) {
    const logs = (await container.logs({ stdout: true, stderr: true, tail: 40 })).toString('utf8');
    await sd.stop();
    throw new Error(`systemd did not boot: ${(err as Error).message}\n${logs}`, { cause: err });
  }
  return sd;
}
