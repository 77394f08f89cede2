/**
 * Soak (issue 11): the real `warden serve` process watching 20 services at a 1 s interval, 3 of
 * them flapping (down 4 s of every 12 s, brought back by a real restart command), for N minutes.
 * Every 10 s it samples Warden's RSS, CPU, open fds and V8 heap (from its own /proc and /metrics);
 * it counts the status events on Warden's stdout, on a WebSocket client and in the journal. Prints
 * the samples, the growth per hour (least-squares slope) and whether the three counts agree.
 *
 *   npm run bench -- soak [--minutes 10]
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } });
const MINUTES = Number(values.minutes);
const SERVICES = 20;
const FLAPPING = 3;
const SAMPLE_MS = 10_000;
const TOKEN = 'e'.repeat(64);
const CLK_TCK = 100;

interface Sample {
  t: number;
  rssMiB: number;
  cpuPct: number;
  fds: number;
  heapMiB: number;
}

/** A stand-in that answers 200; a flapping one stops answering 4 s of every 12 s. */
async function standIn(flapping: boolean): Promise<{ port: number; server: Server }> {
  let downUntil = 0;
  const server = createServer((req, res) => {
    if (Date.now() < downUntil) {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  if (flapping) setInterval(() => (downUntil = Date.now() + 4_000), 12_000).unref();
  return { port: (server.address() as { port: number }).port, server };
}

function procStat(pid: number): { cpuTicks: number; rssPages: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { cpuTicks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) };
}

/** Least-squares slope of y over t (ms), per hour. */
function perHour(samples: Sample[], key: keyof Omit<Sample, 't'>): number {
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const my = samples.reduce((a, s) => a + s[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s[key] - my);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3_600_000;
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-soak-'));
const standIns = await Promise.all(Array.from({ length: SERVICES }, (_, i) => standIn(i < FLAPPING)));
const config = {
  healthCheckInterval: 1,
  serviceHealthTimeout: 1,
  serviceBackoffBase: 0.5,
  failedRetryInterval: 5,
  services: standIns.map((s, i) => ({ name: `svc${i}`, healthUrl: `http://127.0.0.1:${s.port}/health`, restartCmd: 'true', startupTimeout: 10 })),
};
const configFile = path.join(dir, 'config.json');
await fs.writeFile(configFile, JSON.stringify(config));
const env = { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_RUNTIME_DIR: path.join(dir, 'run'), WARDEN_TOKEN: TOKEN };
const warden = spawn(process.execPath, ['dist/src-main/cli/warden.js', 'serve', '--config', configFile, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
// Events are compared from the moment the WebSocket client got its snapshot on (it never sees
// what came before): by their own timestamps.
const stdoutTimes: string[] = [];
let buffered = '';
let base = '';
warden.stdout.setEncoding('utf8').on('data', (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split('\n');
  buffered = lines.pop()!;
  for (const line of lines) {
    if (line.includes('"msg":"service_status"')) stdoutTimes.push((JSON.parse(line) as { event: { timestamp: string } }).event.timestamp);
    const m = /Warden dashboard: (http:\/\/[^/]+)\//.exec(line);
    if (m) base = m[1]!;
  }
});
while (!base) await new Promise((r) => setTimeout(r, 50));

let wsEvents = 0;
let since = '';
const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, ['warden.v1', `auth.${TOKEN}`]);
ws.on('message', (data) => {
  const msg = JSON.parse(String(data)) as { type: string; timestamp: string };
  if (msg.type === 'snapshot') since = msg.timestamp;
  if (msg.type === 'service_status') wsEvents++;
});
while (!since) await new Promise((r) => setTimeout(r, 20));

async function heapMiB(): Promise<number> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const m = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(await res.text());
  return m ? Number(m[1]) / 2 ** 20 : NaN;
}

const pid = warden.pid!;
const samples: Sample[] = [];
const started = Date.now();
let last = { t: started, cpu: procStat(pid).cpuTicks };
console.log(`node ${process.version}, ${os.cpus().length} cores; ${SERVICES} services (${FLAPPING} flapping) at 1 s for ${MINUTES} min`);
console.log('   t      RSS MiB  CPU %   fds   heap MiB');
while (Date.now() - started < MINUTES * 60_000) {
  await new Promise((r) => setTimeout(r, SAMPLE_MS));
  const now = Date.now();
  const st = procStat(pid);
  const sample: Sample = {
    t: now - started,
    rssMiB: (st.rssPages * 4096) / 2 ** 20,
    cpuPct: (((st.cpuTicks - last.cpu) / CLK_TCK) * 1000 * 100) / (now - last.t),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    heapMiB: await heapMiB(),
  };
  last = { t: now, cpu: st.cpuTicks };
  samples.push(sample);
  console.log(`${String(Math.round(sample.t / 1000)).padStart(4)} s  ${sample.rssMiB.toFixed(1).padStart(7)}  ${sample.cpuPct.toFixed(1).padStart(5)}  ${String(sample.fds).padStart(4)}  ${sample.heapMiB.toFixed(1).padStart(8)}`);
}

// Stop cleanly, then count the journal (every event Warden wrote, rotated generations included).
ws.close();
warden.kill('SIGTERM');
await new Promise((resolve) => warden.once('exit', resolve));
const stateDir = path.join(dir, 'state', 'warden');
let journalEvents = 0;
for (const f of (await fs.readdir(stateDir)).filter((n) => /^events(\.\d+)?\.jsonl$/.test(n))) {
  const lines = (await fs.readFile(path.join(stateDir, f), 'utf8')).split('\n').filter(Boolean);
  journalEvents += lines.filter((l) => (JSON.parse(l) as { timestamp: string }).timestamp >= since).length;
}
const stdoutEvents = stdoutTimes.filter((t) => t >= since).length;
for (const s of standIns) s.server.close();

// Skip the first minute (start-up, JIT) for the growth figures.
const steady = samples.filter((s) => s.t >= 60_000);
console.log(`\ngrowth per hour (after the first minute): RSS ${perHour(steady, 'rssMiB').toFixed(1)} MiB, heap ${perHour(steady, 'heapMiB').toFixed(1)} MiB, fds ${perHour(steady, 'fds').toFixed(1)}`);
console.log(`mean CPU ${(steady.reduce((a, s) => a + s.cpuPct, 0) / Math.max(1, steady.length)).toFixed(1)} %`);
console.log(`status events: stdout ${stdoutEvents}, WebSocket ${wsEvents}, journal ${journalEvents} — ${stdoutEvents === wsEvents && wsEvents === journalEvents ? 'they agree' : 'THEY DIFFER'}`);
await fs.rm(dir, { recursive: true, force: true });
process.exit(stdoutEvents === wsEvents && wsEvents === journalEvents ? 0 : 1);
