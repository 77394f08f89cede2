/**
 * Probe throughput (ARCHITECTURE.md "Probing is cheap", issue 16): the request path alone. N
 * probes, one per service (each its own loopback server, all in one child process whose CPU is
 * not counted), all checked once a second, for four HTTP clients side by side in the same run,
 * each alone in its own process: Warden's HttpProbe, the undici Client.dispatch probe it replaced,
 * undici's Pool.request, and node:http with a keep-alive Agent. Prints checks per CPU-second
 * twice: paced (every service once a second, as Warden runs: idle wake-ups included, noisy on a
 * small VM) and flat out (rounds back to back for 20× as many rounds: the cost of a check itself,
 * steady to a few per cent from run to run).
 *
 *   npm run bench -- probes [--services 200] [--seconds 30] [--warmup 10] [--repeat 1]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '1' },
  },
});
const CLIENTS = ['warden (net + onread)', 'undici Client.dispatch', 'undici Pool.request', 'node:http keep-alive Agent'];
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

interface Run {
  checks: number;
  notUp: number;
  late: number;
  user: number;
  system: number;
}

async function runClient(name: string, ports: number[], intervalMs: number): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', here('./probe-clients/run-client.ts'), name, JSON.stringify(ports), values.seconds, values.warmup, String(intervalMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${name} exited with ${code}`);
  return JSON.parse(out) as Run;
}

const farm = spawn(process.execPath, [here('./footprint/services.mjs'), values.services], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
try {
  const first = await createInterface({ input: farm.stdout })[Symbol.asyncIterator]().next();
  const ports = JSON.parse(first.value as string) as number[];
  console.log(`node ${process.version}, ${os.cpus().length} cores; ${ports.length} services, every one checked once a second, ${values.warmup} s warm-up + ${values.seconds} s measured, each client in its own process`);
  const paced = new Map<string, Run[]>(CLIENTS.map((c) => [c, []]));
  const flat = new Map<string, Run[]>(CLIENTS.map((c) => [c, []]));
  for (let r = 0; r < Number(values.repeat); r++) {
    for (const name of CLIENTS) {
      paced.get(name)!.push(await runClient(name, ports, 1000));
      flat.get(name)!.push(await runClient(name, ports, 0));
    }
  }
  const perCpu = (list: Run[]) => list.map((x) => String(Math.round(x.checks / (x.user + x.system)))).join(' / ');
  console.log('');
  console.log(`${'client'.padEnd(28)}  ${'checks per CPU-s, 1 s'.padStart(22)}  ${'flat out'.padStart(16)}  ${'flat: user s'.padStart(12)}  ${'sys s'.padStart(6)}  not up`);
  for (const name of CLIENTS) {
    const last = flat.get(name)!.at(-1)!;
    const notUp = [...paced.get(name)!, ...flat.get(name)!].reduce((a, x) => a + x.notUp, 0);
    console.log(`${name.padEnd(28)}  ${perCpu(paced.get(name)!).padStart(22)}  ${perCpu(flat.get(name)!).padStart(16)}  ${last.user.toFixed(2).padStart(12)}  ${last.system.toFixed(2).padStart(6)}  ${notUp}`);
  }
} finally {
  process.kill(-farm.pid!, 'SIGKILL');
}
