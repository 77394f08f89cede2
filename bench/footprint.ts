/**
 * Footprint (issue 16): what watching N healthy HTTP services every second costs, for the real
 * `warden serve` side by side with a bare keep-alive node:http client (bench/footprint/bare-client.mjs)
 * and, when `monit` is on the PATH, monit — each alone on the machine, in the same run, against the
 * same N servers (one separate process, bench/footprint/services.mjs, whose CPU is not counted).
 *
 * Per subject and N: a warm-up, then W windows of S seconds. Checks are the health requests the
 * servers answered in the window; CPU is the subject's whole process tree (/proc, utime + stime of
 * it, its children and what it reaped). Peak RSS is the tree's largest sampled RSS or the root's
 * VmHWM, whichever is higher (start-up included); peak heap is sampled in the process every 250 ms.
 *
 *   npm run bench -- footprint [--services 50,200] [--seconds 60] [--windows 1] [--warmup 15] [--only warden]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '50,200' },
    seconds: { type: 'string', default: '60' },
    windows: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '15' },
    only: { type: 'string' },
  },
});
const COUNTS = values.services.split(',').map(Number);
const SECONDS = Number(values.seconds);
const WINDOWS = Number(values.windows);
const WARMUP = Number(values.warmup);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HERE = fileURLToPath(new URL('./footprint/', import.meta.url));
const CLK_TCK = 100;
const PAGE = 4096;
const TOKEN = 'f'.repeat(64);

type SubjectName = 'bare node:http' | 'warden' | 'monit';

interface WindowFigures {
  checks: number;
  cpuSeconds: number;
}

interface Figures {
  subject: SubjectName;
  services: number;
  windows: WindowFigures[];
  peakRssMiB: number;
  peakHeapMiB: number | null;
}

/** The N servers, and how many requests they have answered. */
class Services {
  private readonly lines: AsyncIterator<string>;
  private constructor(
    private readonly child: ChildProcess,
    readonly ports: number[],
    lines: AsyncIterator<string>,
  ) {
    this.lines = lines;
  }

  static async start(count: number): Promise<Services> {
    const child = spawn(process.execPath, [path.join(HERE, 'services.mjs'), String(count)], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    return new Services(child, JSON.parse(first.value as string) as number[], lines);
  }

  async answered(): Promise<number> {
    this.child.stdin!.write('count\n');
    return Number((await this.lines.next()).value);
  }

  async stop(): Promise<void> {
    const exited = once(this.child, 'exit');
    process.kill(-this.child.pid!, 'SIGKILL');
    await exited;
  }
}

/** utime + stime (+ what it reaped), and RSS, of a process and every live descendant. */
function treeUsage(rootPid: number): { cpuTicks: number; rssBytes: number } {
  const children = new Map<number, number[]>();
  const stats = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    stats.set(pid, f);
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  let cpuTicks = 0;
  let rssBytes = 0;
  const todo = [rootPid];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    const f = stats.get(pid);
    if (!f) continue;
    cpuTicks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    rssBytes += Number(f[21]) * PAGE;
    todo.push(...(children.get(pid) ?? []));
  }
  return { cpuTicks, rssBytes };
}

function vmHwmBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Running {
  child: ChildProcess;
  memoryFile: string | null;
}

async function startSubject(subject: SubjectName, ports: number[], dir: string): Promise<Running> {
  const memoryFile = path.join(dir, 'memory.json');
  const probe = ['--import', path.join(HERE, 'memory-probe.mjs')];
  const env = { ...process.env, FOOTPRINT_MEMORY_FILE: memoryFile };
  if (subject === 'bare node:http') {
    const child = spawn(process.execPath, [...probe, path.join(HERE, 'bare-client.mjs'), JSON.stringify(ports), '1000'], { env, stdio: 'inherit', detached: true });
    return { child, memoryFile };
  }
  if (subject === 'warden') {
    const config = {
      healthCheckInterval: 1,
      serviceHealthTimeout: 5,
      notifications: false,
      services: ports.map((port, i) => ({ name: `svc${i}`, healthUrl: `http://127.0.0.1:${port}/health`, restartCmd: 'true' })),
    };
    const configFile = path.join(dir, 'config.json');
    await fs.writeFile(configFile, JSON.stringify(config));
    const wardenEnv = { ...env, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_RUNTIME_DIR: path.join(dir, 'run'), WARDEN_TOKEN: TOKEN };
    const child = spawn(process.execPath, [...probe, path.join(ROOT, 'dist/src-main/cli/warden.js'), 'serve', '--config', configFile, '--port', '0'], {
      env: wardenEnv,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    // Its log goes nowhere but is read, as a terminal or journald would read it.
    child.stdout!.resume();
    return { child, memoryFile };
  }
  // monit: one `check host` per service, a 1 s cycle, in the foreground, no HTTP interface.
  const control = [
    'set daemon 1',
    `set logfile ${path.join(dir, 'monit.log')}`,
    `set idfile ${path.join(dir, 'monit.id')}`,
    `set statefile ${path.join(dir, 'monit.state')}`,
    `set pidfile ${path.join(dir, 'monit.pid')}`,
    ...ports.map((port, i) => `check host svc${i} with address 127.0.0.1\n  if failed port ${port} protocol http request "/health" status = 200 then alert`),
  ].join('\n');
  const controlFile = path.join(dir, 'monitrc');
  await fs.writeFile(controlFile, `${control}\n`, { mode: 0o600 });
  const child = spawn('monit', ['-I', '-c', controlFile], { stdio: 'ignore', detached: true });
  return { child, memoryFile: null };
}

async function stopSubject(running: Running): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  const exited = once(running.child, 'exit');
  process.kill(-running.child.pid!, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-running.child.pid!, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function peakHeap(running: Running): Promise<number | null> {
  if (!running.memoryFile) return null;
  await fs.rm(running.memoryFile, { force: true });
  process.kill(running.child.pid!, 'SIGUSR2');
  for (let i = 0; i < 200 && !existsSync(running.memoryFile); i++) await sleep(25);
  const { heapUsedPeak } = JSON.parse(await fs.readFile(running.memoryFile, 'utf8')) as { heapUsedPeak: number };
  return heapUsedPeak / 2 ** 20;
}

async function measure(subject: SubjectName, services: Services): Promise<Figures> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-footprint-'));
  const running = await startSubject(subject, services.ports, dir);
  const pid = running.child.pid!;
  let peakRss = 0;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, treeUsage(pid).rssBytes);
    } catch {
      // the subject is gone; its exit is reported below
    }
  }, 500);
  try {
    await sleep(WARMUP * 1000);
    const windows: WindowFigures[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      const checks0 = await services.answered();
      const cpu0 = treeUsage(pid).cpuTicks;
      await sleep(SECONDS * 1000);
      const checks = (await services.answered()) - checks0;
      const cpuSeconds = (treeUsage(pid).cpuTicks - cpu0) / CLK_TCK;
      if (running.child.exitCode !== null) throw new Error(`${subject} exited early (${running.child.exitCode})`);
      windows.push({ checks, cpuSeconds });
    }
    peakRss = Math.max(peakRss, treeUsage(pid).rssBytes, vmHwmBytes(pid));
    const peakHeapMiB = await peakHeap(running);
    return { subject, services: services.ports.length, windows, peakRssMiB: peakRss / 2 ** 20, peakHeapMiB };
  } finally {
    clearInterval(sampler);
    await stopSubject(running);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function hasMonit(): boolean {
  return spawnSync('monit', ['-V'], { stdio: 'ignore' }).status === 0;
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

async function main(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist/src-main/cli/warden.js')) || !process.env.FOOTPRINT_NO_BUILD) {
    process.stderr.write('footprint: building Warden (npm run build)…\n');
    const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) process.exit(built.status ?? 1);
  }
  const subjects: SubjectName[] = ['bare node:http', 'warden', ...(hasMonit() ? (['monit'] as const) : [])];
  const chosen = values.only ? subjects.filter((s) => s.includes(values.only!)) : subjects;
  console.log(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}); 1 s interval, ${WARMUP} s warm-up, ${WINDOWS} × ${SECONDS} s windows${hasMonit() ? '' : '; monit not installed'}`);
  const results: Figures[] = [];
  for (const count of COUNTS) {
    const services = await Services.start(count);
    try {
      for (const subject of chosen) {
        const figures = await measure(subject, services);
        results.push(figures);
        const perCpu = figures.windows.map((w) => Math.round(w.checks / w.cpuSeconds)).join(' / ');
        process.stderr.write(`  ${count} services, ${subject}: ${perCpu} checks per CPU-second, ${figures.peakRssMiB.toFixed(1)} MiB peak RSS\n`);
      }
    } finally {
      await services.stop();
    }
  }

  const widths = [8, 16, 12, 20, 14, 14, 16];
  console.log('');
  console.log(row(['services', 'subject', 'checks/s', 'checks per CPU-s', 'peak RSS MiB', 'peak heap MiB', 'vs bare (cost, RSS)'], widths));
  for (const f of results) {
    const bare = results.find((r) => r.services === f.services && r.subject === 'bare node:http');
    const checks = f.windows.reduce((a, w) => a + w.checks, 0);
    const cpu = f.windows.reduce((a, w) => a + w.cpuSeconds, 0);
    const perCpu = f.windows.map((w) => String(Math.round(w.checks / w.cpuSeconds))).join(' / ');
    let versus = '';
    if (bare && bare !== f) {
      const bareCost = bare.windows.reduce((a, w) => a + w.cpuSeconds, 0) / bare.windows.reduce((a, w) => a + w.checks, 0);
      versus = `${(cpu / checks / bareCost).toFixed(2)}×, ${(f.peakRssMiB / bare.peakRssMiB).toFixed(2)}×`;
    }
    console.log(
      row([String(f.services), f.subject, (checks / (WINDOWS * SECONDS)).toFixed(1), perCpu, f.peakRssMiB.toFixed(1), f.peakHeapMiB === null ? '-' : f.peakHeapMiB.toFixed(1), versus], widths),
    );
  }
}

await main();
