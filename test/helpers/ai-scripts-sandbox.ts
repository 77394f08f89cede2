// Drives the real ai/ start and stop scripts against the stand-in model server
// (test/fixtures/ai/fake-model-server.mjs). Each sandbox has its own temp dir (pidfile, log, HOME)
// and free port, and kills every process group it or the scripts started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result, type ResultPromise } from 'execa';
import { afterEach } from 'vitest';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(REPO, 'test/fixtures/ai');
export const FAKE_SERVER = join(FIXTURES, 'fake-model-server.mjs');
/** Stand-ins for llama-server, the detector's Python and nvidia-smi. */
export const FIXTURE_BIN = join(FIXTURES, 'bin');

/** Which pair of scripts: start_/stop_detector.sh or start_/stop_nemotron.sh. */
export type Service = 'detector' | 'nemotron';
export const PREFIX: Record<Service, string> = { detector: 'RTDETR', nemotron: 'NEMOTRON' };

/** A finished script run. */
export type ScriptResult = Result<{ reject: false }>;

/** A port nothing listens on right now (the kernel's pick). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** The fields of /proc/PID/stat from "state" on, or undefined once the pid is gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return line.slice(line.lastIndexOf(')') + 2).trim().split(' ');
  } catch {
    return undefined;
  }
}

/** Alive = exists and is not a zombie (PID 1 here reaps orphans late; a zombie is dead). */
export function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat[0] !== 'Z';
}

/** Process group id of a live pid. */
export function pgidOf(pid: number): number | undefined {
  const stat = procStat(pid);
  return stat ? Number(stat[2]) : undefined;
}

/** Session id of a live pid. */
export function sidOf(pid: number): number | undefined {
  const stat = procStat(pid);
  return stat ? Number(stat[3]) : undefined;
}

/** Seconds since the pid started, from /proc (as the scripts measure it). */
export function ageOf(pid: number): number {
  const stat = procStat(pid);
  if (!stat) return -1;
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return uptime - Number(stat[19]) / 100;
}

/** Every live (non-zombie) process in a process group. */
export function liveGroupMembers(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && Number(stat[2]) === pgid && stat[0] !== 'Z') live.push(Number(entry));
  }
  return live;
}

/** Poll until cond() is truthy (generous deadline: the VM is noisy). */
export async function waitUntil<T>(cond: () => T | Promise<T>, what: string, deadlineMs = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await cond();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET the health URL: the status code, or 'refused' / 'error'. */
export async function healthOf(port: number): Promise<number | 'refused' | 'error'> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    return code === 'ECONNREFUSED' ? 'refused' : 'error';
  }
}

/** Resolves once the running script has printed text matching re on stdout. */
export function stdoutMatches(run: ResultPromise, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    run.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (re.test(seen)) resolve();
    });
    run.then(() => reject(new Error(`script ended without printing ${re}: ${seen}`)), reject);
  });
}

/**
 * Everything a running script prints on stdout, from its start on. `next(re)` resolves once a
 * line matching re shows up after the lines earlier next() calls matched (so a test can step
 * through a script's progress in order); it rejects if the script ends first.
 */
export class ScriptOutput {
  text = '';
  private from = 0;
  private ended = false;
  private waiters: { re: RegExp; resolve: (line: string) => void; reject: (err: Error) => void }[] = [];

  constructor(run: ResultPromise) {
    run.stdout?.on('data', (chunk: Buffer) => {
      this.text += chunk.toString();
      this.check();
    });
    const end = (): void => {
      this.ended = true;
      this.check();
    };
    void run.then(end, end);
  }

  next(re: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ re, resolve, reject });
      this.check();
    });
  }

  private check(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      const lines = this.text.slice(this.from).split('\n');
      // Only whole lines: the last piece may still grow.
      if (!this.ended) lines.pop();
      let offset = this.from;
      const hit = lines.find((line) => {
        if (w.re.test(line)) return true;
        offset += line.length + 1;
        return false;
      });
      if (hit === undefined) {
        if (this.ended) {
          this.waiters.shift();
          w.reject(new Error(`script ended without printing ${w.re}:\n${this.text}`));
          continue;
        }
        return;
      }
      this.from = offset + hit.length + 1;
      this.waiters.shift();
      w.resolve(hit);
    }
  }
}

/** Quote one word for bash. */
export const sh = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/** One test's world: temp dir, port, env for the scripts, and everything to kill afterwards. */
export class Sandbox {
  readonly groups = new Set<number>();
  readonly pids = new Set<number>();
  private constructor(
    readonly service: Service,
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(service: Service): Promise<Sandbox> {
    return new Sandbox(service, await mkdtemp(join(tmpdir(), `warden-ai-${service}-`)), await freePort());
  }

  get prefix(): string {
    return PREFIX[this.service];
  }
  get pidfile(): string {
    return join(this.dir, `${this.service}.pid`);
  }
  get log(): string {
    return join(this.dir, `${this.service}.log`);
  }

  /** The scripts' environment: nothing inherited but PATH; short timings so tests are quick. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const p = this.prefix;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.dir,
      [`${p}_PORT`]: String(this.port),
      [`${p}_PIDFILE`]: this.pidfile,
      [`${p}_LOG`]: this.log,
      [`${p}_STARTUP_TIMEOUT`]: '30',
      [`${p}_STOP_GRACE`]: '2',
      // Generous: a slow curl on a loaded machine must not read as "hung" (the hung test sets 1 s).
      [`${p}_HEALTH_TIMEOUT`]: '5',
      ...extra,
    };
  }

  /** A _CMD line running the stand-in on this sandbox's port. */
  fakeCmd(flags = ''): Record<string, string> {
    const mode = this.service === 'detector' ? 'detector' : 'llama';
    return { [`${this.prefix}_CMD`]: `node ${sh(FAKE_SERVER)} --mode ${mode} --port "$${this.prefix}_PORT" ${flags}` };
  }

  /** Start ai/<action>_<service>.sh in the background; its group and its server are tracked. */
  spawnScript(action: 'start' | 'stop', extra: Record<string, string> = {}, args: string[] = []): ResultPromise<{ reject: false }> {
    const run = execa(join(REPO, 'ai', `${action}_${this.service}.sh`), args, {
      cwd: REPO,
      env: this.env(extra),
      extendEnv: false,
      reject: false,
      detached: true,
      timeout: 55_000,
      killSignal: 'SIGKILL',
    });
    if (run.pid) this.groups.add(run.pid);
    void run.then(() => this.trackPidfile());
    return run;
  }

  /** Run a script to its end. */
  async script(action: 'start' | 'stop', extra: Record<string, string> = {}, args: string[] = []): Promise<ScriptResult> {
    const result = await this.spawnScript(action, extra, args);
    await this.trackPidfile();
    return result;
  }

  /** The pid in the pidfile, if any (also tracked for cleanup). */
  async pidfilePid(): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(this.pidfile, 'utf8')).trim());
      // Servers the scripts start lead their own session and group: kill those as groups.
      if (pid > 0 && sidOf(pid) === pid) this.groups.add(pid);
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async trackPidfile(): Promise<void> {
    await this.pidfilePid();
  }

  async readLog(suffix = ''): Promise<string> {
    return readFile(this.log + suffix, 'utf8');
  }

  async writeLog(text: string, suffix = ''): Promise<void> {
    await writeFile(this.log + suffix, text);
  }

  /** Spawn a process the test owns; group=true puts it in its own process group. */
  async spawnOwn(args: string[], group: boolean, readyLine?: RegExp): Promise<ChildProcess> {
    const child = spawn(process.execPath, args, { detached: group, stdio: ['ignore', 'pipe', 'inherit'] });
    if (!child.pid) throw new Error('spawn failed');
    (group ? this.groups : this.pids).add(child.pid);
    if (readyLine) {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          if (readyLine.test(out)) resolve();
        });
        child.once('exit', () => reject(new Error(`exited before ${readyLine}: ${out}`)));
      });
    }
    return child;
  }

  /** Kill every tracked group and pid, wait until none is alive, remove the temp dir. */
  async cleanup(): Promise<void> {
    await this.pidfilePid();
    for (const pg of this.groups) {
      try {
        process.kill(-pg, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await waitUntil(
      () => [...this.groups].every((pg) => liveGroupMembers(pg).length === 0) && [...this.pids].every((p) => !isAlive(p)),
      'the sandbox processes to die',
      10_000,
    );
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A `sandbox(service)` factory for a test file: every sandbox it made is cleaned up after each test. */
export function sandboxesPerTest(): (service: Service) => Promise<Sandbox> {
  let made: Sandbox[] = [];
  afterEach(async () => {
    await Promise.all(made.map((sb) => sb.cleanup()));
    made = [];
  });
  return async (service) => {
    const sb = await Sandbox.create(service);
    made.push(sb);
    return sb;
  };
}
