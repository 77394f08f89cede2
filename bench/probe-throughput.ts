/**
 * Probe throughput (ARCHITECTURE.md "Probing is cheap"): 200 HTTP probes, one per simulated
 * service, each checked once a second for ~10 s against a local server in a child process (so
 * only the probing process's CPU is counted). Prints checks done, CPU seconds and checks per
 * CPU-second (target >= 14 000). Run: npx tsx bench/probe-throughput.ts [services] [seconds]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { HttpProbe } from '../src-main/core/probes/http-probe.js';
import { normaliseUrl } from '../src-shared/health-url.js';

const SERVICES = Number(process.argv[2] ?? 200);
const SECONDS = Number(process.argv[3] ?? 10);
const INTERVAL_MS = 1000;
const WARMUP_ROUNDS = 30;

// The stand-in service: answers like llama.cpp when ready.
const SERVER = `
const http = require('node:http');
const body = '{"status":"ok"}';
const s = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));`;

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['-e', SERVER], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    child.stdout.setEncoding('utf8');
    const [line] = (await once(child.stdout, 'data')) as [string];
    const url = normaliseUrl(`http://127.0.0.1:${line.trim()}/health`);
    const probes = Array.from({ length: SERVICES }, () => new HttpProbe(url, 5000));

    // Warm-up: connect every probe and let the JIT optimise the hot path before measuring, as
    // it will have in a monitor that has run for more than a minute.
    for (let i = 0; i < WARMUP_ROUNDS; i++) await Promise.all(probes.map((p) => p.check()));

    let checks = 0;
    let notUp = 0;
    let behind = 0;
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    for (let tick = 0; tick < SECONDS; tick++) {
      const due = wallStart + tick * INTERVAL_MS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else if (tick > 0) behind++;
      const results = await Promise.all(probes.map((p) => p.check()));
      checks += results.length;
      notUp += results.filter((r) => r.state !== 'up').length;
    }
    const cpu = process.cpuUsage(cpuStart);
    const wall = (performance.now() - wallStart) / 1000;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    await Promise.all(probes.map((p) => p.close()));

    console.log(`services: ${SERVICES}, interval: ${INTERVAL_MS} ms, rounds: ${SECONDS}, wall: ${wall.toFixed(2)} s`);
    console.log(`checks done: ${checks} (not up: ${notUp}; rounds that started late: ${behind})`);
    console.log(`CPU used by the probing process: ${cpuSeconds.toFixed(3)} s (user ${(cpu.user / 1e6).toFixed(3)}, system ${(cpu.system / 1e6).toFixed(3)})`);
    console.log(`checks per CPU-second: ${Math.round(checks / cpuSeconds)} (target >= 14000)`);
  } finally {
    process.kill(-child.pid!, 'SIGKILL');
  }
}

await main();
