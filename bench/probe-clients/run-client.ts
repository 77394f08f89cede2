/**
 * One HTTP client of the probe comparison, alone in its process (bench/probe-throughput.ts starts
 * it): N probes, all checked once a second for `seconds` after a warm-up; prints one JSON line.
 */
import { HttpProbe } from '../../src-main/core/probes/http-probe.js';
import type { Probe } from '../../src-main/core/probes/probe.js';
import { normaliseUrl } from '../../src-shared/health-url.js';
import { NodeHttpProbe, UndiciPoolProbe } from './other-clients.js';
import { UndiciDispatchProbe } from './undici-dispatch-probe.js';

export const CLIENTS: Record<string, (url: URL, timeoutMs: number) => Probe> = {
  'warden (net + onread)': (url, t) => new HttpProbe(url, t),
  'undici Client.dispatch': (url, t) => new UndiciDispatchProbe(url, t),
  'undici Pool.request': (url, t) => new UndiciPoolProbe(url, t),
  'node:http keep-alive Agent': (url, t) => new NodeHttpProbe(url, t),
};

const [name = '', portsJson = '[]', seconds = '30', warmup = '10', interval = '1000'] = process.argv.slice(2);
/** 0: rounds back to back, as fast as the client goes (its cost per check with no idle wake-ups in it). */
const INTERVAL_MS = Number(interval);
const make = CLIENTS[name];
if (!make) throw new Error(`unknown client ${name}`);
const probes = (JSON.parse(portsJson) as number[]).map((port) => make(normaliseUrl(`http://127.0.0.1:${port}/health`), 5000));

async function rounds(count: number): Promise<{ checks: number; notUp: number; late: number }> {
  let checks = 0;
  let notUp = 0;
  let late = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + i * INTERVAL_MS - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else if (i > 0) late++;
    const results = await Promise.all(probes.map((p) => p.check()));
    checks += results.length;
    for (const r of results) if (r.state !== 'up') notUp++;
  }
  return { checks, notUp, late };
}

await rounds(Number(warmup) * (INTERVAL_MS === 0 ? 20 : 1));
const cpu0 = process.cpuUsage();
const result = await rounds(Number(seconds) * (INTERVAL_MS === 0 ? 20 : 1));
const cpu = process.cpuUsage(cpu0);
await Promise.all(probes.map((p) => p.close()));
process.stdout.write(`${JSON.stringify({ ...result, user: cpu.user / 1e6, system: cpu.system / 1e6 })}\n`);
