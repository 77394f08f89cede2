/**
 * Crash detection (issue 5, ARCHITECTURE "A crash is seen in milliseconds"): SIGKILL a service
 * N times and measure the time from the kill to the `unhealthy` event and to `healthy` again, at
 * the default 15 s probe interval — for the shell strategy (stand-in process, watch connection)
 * and the docker strategy (busybox container on a private dockerd, event stream).
 * Backoff is set to 0 so "to healthy" is restart + readiness, not the 5/10/20 s wait.
 *
 *   npm run bench -- detection [--kills 20] [--strategy shell|docker|both]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configSchema } from '../src-shared/config-schema.js';
import type { ServiceStatusEvent } from '../src-shared/protocol.js';
import { silentLogger } from '../src-main/core/log/logger.js';
import { createWarden, type Warden } from '../src-main/core/warden.js';
import { freePort, shQuote } from '../src-main/demo/shell-words.js';
import { killFromPidfile, launchDetached } from '../src-main/demo/launch-detached.js';
import { nodeScriptArgv } from '../src-main/demo/node-script.js';
import { buildBusyboxImage, createWebContainer, startDockerd } from '../test/helpers/dockerd.js';

const { values } = parseArgs({ options: { kills: { type: 'string', default: '20' }, strategy: { type: 'string', default: 'both' } } });
const KILLS = Number(values.kills);

interface Sample {
  unhealthyMs: number;
  healthyMs: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

function report(label: string, samples: Sample[]): void {
  const row = (what: string, xs: number[]) =>
    `  ${what.padEnd(22)} median ${quantile(xs, 0.5).toFixed(1).padStart(7)} ms   p90 ${quantile(xs, 0.9).toFixed(1).padStart(7)} ms   max ${Math.max(...xs).toFixed(1).padStart(7)} ms`;
  console.log(`${label} (${samples.length} kills, healthCheckInterval 15 s)`);
  console.log(row('SIGKILL → unhealthy', samples.map((s) => s.unhealthyMs)));
  console.log(row('SIGKILL → healthy', samples.map((s) => s.healthyMs)));
}

/** Kill, then time the unhealthy and healthy events that follow. */
async function measure(warden: Warden, kill: () => Promise<void> | void): Promise<Sample> {
  const start = performance.now();
  let unhealthyAt = 0;
  const done = new Promise<number>((resolve) => {
    const off = warden.monitor.subscribe((e: ServiceStatusEvent) => {
      if (e.status === 'unhealthy' && !unhealthyAt) unhealthyAt = performance.now();
      if (e.status === 'healthy' && unhealthyAt) {
        off();
        resolve(performance.now());
      }
    });
  });
  await kill();
  const healthyAt = await done;
  return { unhealthyMs: unhealthyAt - start, healthyMs: healthyAt - start };
}

function config(services: object[], type: 'shell' | 'docker') {
  return configSchema.parse({ serviceManagerType: type, healthCheckInterval: 15, serviceBackoffBase: 0, serviceMaxRetries: 100, services });
}

async function whenHealthy(warden: Warden, name: string): Promise<void> {
  while (warden.monitor.state(name)?.status !== 'healthy') await new Promise((r) => setTimeout(r, 50));
}

async function shell(dir: string): Promise<Sample[]> {
  const port = await freePort();
  const pidfile = path.join(dir, 'svc.pid');
  const log = path.join(dir, 'svc.log');
  const argv = [...nodeScriptArgv('./stand-in-cli.js'), '--port', String(port), '--kind', 'detector'];
  const restartCmd = [...nodeScriptArgv('./launch-detached.js'), '--port', String(port), '--pidfile', pidfile, '--log', log, '--', ...argv].map(shQuote).join(' ');
  await launchDetached({ argv, port, pidfile, log });
  const warden = await createWarden(config([{ name: 'svc', healthUrl: `http://127.0.0.1:${port}/health`, restartCmd }], 'shell'), {
    logger: silentLogger(),
    configFile: null,
    dataDir: dir,
  });
  warden.start();
  const samples: Sample[] = [];
  try {
    for (let i = 0; i < KILLS; i++) {
      await whenHealthy(warden, 'svc');
      while (!warden.signals.watching('svc')?.connected) await new Promise((r) => setTimeout(r, 20));
      samples.push(await measure(warden, () => void killFromPidfile(pidfile)));
    }
  } finally {
    await warden.stop();
    killFromPidfile(pidfile);
  }
  return samples;
}

/** healthUrl 'docker': container state only (event stream); 'http': the HTTP probe (+ watch connection). */
async function docker(dir: string, health: 'docker' | 'http'): Promise<Sample[]> {
  const daemon = await startDockerd();
  const samples: Sample[] = [];
  try {
    await buildBusyboxImage(daemon.docker);
    const port = await freePort();
    const container = await createWebContainer(daemon.docker, { name: 'bench', port });
    const healthUrl = health === 'docker' ? 'docker://bench' : `http://127.0.0.1:${port}/health`;
    const warden = await createWarden(config([{ name: 'bench', healthUrl, restartCmd: 'unused by docker' }], 'docker'), {
      logger: silentLogger(),
      configFile: null,
      dataDir: dir,
      docker: daemon.docker,
    });
    warden.start();
    try {
      await warden.signals.dockerConnected();
      for (let i = 0; i < KILLS; i++) {
        await whenHealthy(warden, 'bench');
        const pid = (await container.inspect()).State.Pid;
        samples.push(await measure(warden, () => void process.kill(pid, 'SIGKILL')));
      }
    } finally {
      await warden.stop();
    }
  } finally {
    await daemon.stop();
  }
  return samples;
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-bench-'));
try {
  console.log(`node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}`);
  if (values.strategy !== 'docker') report('shell strategy, watch connection', await shell(dir));
  if (values.strategy !== 'shell') {
    report('docker strategy, docker:// health (event stream only)', await docker(dir, 'docker'));
    report('docker strategy, http:// health (event stream + watch connection)', await docker(dir, 'http'));
  }
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
