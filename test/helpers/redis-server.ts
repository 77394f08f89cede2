import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src-main/demo/shell-words.js';
import { pollUntil } from './poll.js';

export { freePort };
export { pollUntil } from './poll.js';

const run = promisify(execFile);

/** A throw-away redis-server daemon on a loopback port. */
export interface RedisServer {
  port: number;
  /** redis://[:password@]127.0.0.1:PORT */
  url: string;
  pid: number;
  /** Its data directory (dump.rdb, redis.log). */
  dir: string;
  /** SIGKILLs it (process group) and waits until it is gone; removes `dir` unless keepDir. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

/** Options for startRedis. */
export interface StartRedisOptions {
  password?: string;
  extraArgs?: string[];
  /** Reuse a port (to bring "the same" Redis back); default: a free one. */
  port?: number;
  /** Reuse a data directory (e.g. to load a saved dump.rdb); default: a new temp dir. */
  dir?: string;
  /** 'pong' (default): wait until PING answers PONG; 'listening': until it answers anything (e.g. -LOADING). */
  waitFor?: 'pong' | 'listening';
}


/** Starts `redis-server --daemonize yes` on 127.0.0.1 and waits until it answers. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'warden-redis-')));
  const pidfile = join(dir, 'redis.pid');
  await rm(pidfile, { force: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
    '--pidfile', pidfile, '--dir', dir, '--logfile', join(dir, 'redis.log')];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  args.push(...(options.extraArgs ?? []));
  await run('redis-server', args);
  const pid = await pollUntil(async () => Number((await readFile(pidfile, 'utf8').catch(() => '')).trim()) || undefined, 'redis pidfile');
  const server: RedisServer = {
    port,
    dir,
    pid,
    url: `redis://${options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`,
    stop: async ({ keepDir = false } = {}) => {
      killGroup(pid);
      await pollUntil(async () => (await isGone(pid)) || undefined, `redis ${pid} to exit`);
      if (!keepDir) await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    const auth = options.password !== undefined ? [['AUTH', options.password]] : [];
    await pollUntil(async () => {
      const replies = await redisCommands(port, [...auth, ['PING']]).catch(() => undefined);
      const last = replies?.[replies.length - 1];
      if (last === undefined) return undefined;
      return options.waitFor === 'listening' || last === '+PONG' ? true : undefined;
    }, `redis on ${port} to answer`);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** Sends commands in one connection and returns the first line of each reply. */
export async function redisCommands(port: number, commands: string[][]): Promise<string[]> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setEncoding('utf8');
  try {
    return await new Promise<string[]>((resolve, reject) => {
      let buffer = '';
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('closed before all replies')));
      socket.on('connect', () => {
        socket.write(commands.map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''));
      });
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        // Replies we send for here are single lines (+OK, -ERR, +PONG).
        const lines = buffer.split('\r\n').slice(0, -1);
        if (lines.length >= commands.length) resolve(lines.slice(0, commands.length));
      });
    });
  } finally {
    socket.destroy();
  }
}

/** Runs redis-cli against a loopback port and returns its output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

/** SIGKILL to the process group led by pid (redis-server --daemonize calls setsid), else to the pid. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** True once /proc/PID is gone or the process is a zombie (this VM's PID 1 reaps slowly). */
async function isGone(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return true;
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

