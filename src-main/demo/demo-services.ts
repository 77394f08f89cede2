import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ServiceConfigInput, WardenConfig } from '../../src-shared/config-schema.js';
import { findAiRoot } from '../core/warden.js';
import { DemoGpu } from './demo-gpu.js';
import { killFromPidfile, launchDetached } from './launch-detached.js';
import { nodeScriptArgv } from './node-script.js';
import { freePort, shQuote } from './shell-words.js';

/** The running demo: its config (merged over the user's), a crash button, and cleanup. */
export interface Demo {
  config: Pick<WardenConfig, 'services' | 'healthCheckInterval' | 'serviceHealthTimeout' | 'serviceBackoffBase' | 'restartTimeout' | 'startupTimeout' | 'resetAfter' | 'failedRetryInterval' | 'serviceManagerType' | 'workingDir' | 'gpu'>;
  dataDir: string;
  /** Kill a stand-in as a crash would (SIGKILL); false for an unknown name. */
  crash(name: string): Promise<boolean>;
  /**
   * A GPU stand-in dies of CUDA out of memory: another GPU job takes memory for a while and the
   * model crashes; until that job ends it does not fit again. False for an unknown or non-GPU name.
   */
  oom(name: string): Promise<boolean>;
  /**
   * A stand-in's model breaks: its completions (or detections) hang while /health still says ok.
   * Only its deep check can tell; a restart fixes it. False for a name without a deep check.
   */
  breakCompletions(name: string): Promise<boolean>;
  stop(): Promise<void>;
}

function which(cmd: string, env = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    if (dir && fs.existsSync(p)) return p;
  }
  return null;
}

interface Plan {
  name: string;
  port: number;
  healthUrl: string;
  argv: string[];
  startupTimeout?: number;
  /** VRAM it holds on the simulated GPU while it runs (MiB): a GPU service. */
  vramMiB?: number;
  /** Its deep check (CONTRACT §14); the stand-in gets a break file for "Break completions". */
  deepCheck?: NonNullable<ServiceConfigInput['deepCheck']>;
}

/** The other GPU job of the OOM scenario: how much it takes, for how long (s). */
const HOG = { mib: 9000, seconds: 14 };
/** The demo's deep checks run every 5 s and give up after 2 s, so "Break completions" shows within seconds. */
const DEEP = { interval: 5, timeout: 2 };

/** The simulated GPU's release gate gives up sooner than the default 30 s, so the demo's story is short. */
const DEMO_RELEASE_TIMEOUT = 6;

/**
 * `warden serve --demo`: stand-ins that behave like the real services — a detector that loads
 * before binding, an LLM that answers 503 "Loading model" for a few seconds, and Redis (the real
 * redis-server when installed, else a TCP stand-in) — each with a working restart command.
 */
export async function startDemo(opts: { logger: Logger; redisServer?: string | null; simulator?: string }): Promise<Demo> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'warden-demo-'));
  const standIn = nodeScriptArgv('./stand-in-cli.js');
  const launcher = nodeScriptArgv('./launch-detached.js');
  const redisBin = opts.redisServer === undefined ? which('redis-server') : opts.redisServer;

  const [redisPort, detectorPort, llmPort] = [await freePort(), await freePort(), await freePort()];
  const breakFile = (name: string) => path.join(dir, `${name}.break`);
  const plans: Plan[] = [
    redisBin
      ? {
          name: 'redis',
          port: redisPort,
          healthUrl: `redis://127.0.0.1:${redisPort}`,
          argv: [redisBin, '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        }
      : { name: 'redis', port: redisPort, healthUrl: `tcp://127.0.0.1:${redisPort}`, argv: [...standIn, '--port', String(redisPort), '--kind', 'plain'] },
    {
      name: 'rtdetr',
      port: detectorPort,
      healthUrl: `http://127.0.0.1:${detectorPort}/health`,
      argv: [...standIn, '--port', String(detectorPort), '--kind', 'detector', '--load-seconds', '2', '--break-file', breakFile('rtdetr')],
      vramMiB: 2600,
      // The generic form: the test image, uploaded as FastAPI's UploadFile.
      deepCheck: { url: '/detect', file: { path: path.join(findAiRoot(), 'resources', 'deep-check', 'test-image.jpg'), field: 'file' }, expect: { json: 'detections' }, ...DEEP },
    },
    {
      name: 'nemotron',
      port: llmPort,
      healthUrl: `http://127.0.0.1:${llmPort}/health`,
      argv: [...standIn, '--port', String(llmPort), '--kind', 'llm', '--load-seconds', '4', '--break-file', breakFile('nemotron')],
      startupTimeout: 30,
      vramMiB: 17100,
      deepCheck: { preset: 'llama-completion', ...DEEP },
    },
  ];
  const files = (p: Plan) => ({ pidfile: path.join(dir, `${p.name}.pid`), log: path.join(dir, `${p.name}.log`) });
  const gpu = new DemoGpu({
    dir,
    simulator: opts.simulator ?? path.join(findAiRoot(), 'resources', 'demo', 'nvidia-smi'),
    services: plans.flatMap((p) => (p.vramMiB ? [{ name: p.name, pidfile: files(p).pidfile, usedMiB: p.vramMiB }] : [])),
  });

  const services: ServiceConfigInput[] = plans.map((p) => {
    const { pidfile, log } = files(p);
    // A GPU stand-in needs its memory free on the simulated GPU, or fails to start as PyTorch does.
    const vram = p.vramMiB ? ['--needs-vram', String(p.vramMiB), '--gpu-state', gpu.statePath] : [];
    const restartCmd = [...launcher, '--port', String(p.port), '--pidfile', pidfile, '--log', log, ...vram, '--', ...p.argv].map(shQuote).join(' ');
    return {
      name: p.name,
      healthUrl: p.healthUrl,
      restartCmd,
      pidfile,
      logFile: log,
      ...(p.startupTimeout ? { startupTimeout: p.startupTimeout } : {}),
      ...(p.deepCheck ? { deepCheck: p.deepCheck } : {}),
      // A GPU service restarts through the release gate: stop (kill its group), wait for its VRAM, start.
      ...(p.vramMiB ? { gpu: { index: 0, minFreeMiB: p.vramMiB }, stopCmd: `kill -KILL -- "-$(cat ${shQuote(pidfile)})" 2>/dev/null; true` } : {}),
    };
  });

  await Promise.all(plans.map((p) => launchDetached({ argv: p.argv, port: p.port, ...files(p) })));
  gpu.start();
  opts.logger.info({ dir, services: plans.map((p) => `${p.name}@${p.port}`) }, 'demo stand-ins started');

  return {
    dataDir: path.join(dir, 'state'),
    config: {
      serviceManagerType: 'shell',
      workingDir: dir,
      healthCheckInterval: 2,
      serviceHealthTimeout: 1,
      serviceBackoffBase: 1,
      restartTimeout: 20,
      startupTimeout: 15,
      resetAfter: 20,
      failedRetryInterval: 60,
      gpu: { enabled: true, smi: gpu.smiPath, pollInterval: 1, releaseTimeout: DEMO_RELEASE_TIMEOUT, releaseRatio: 0.75 },
      services: services as WardenConfig['services'],
    },
    async crash(name) {
      const plan = plans.find((p) => p.name === name);
      return plan ? killFromPidfile(files(plan).pidfile) : false;
    },
    async oom(name) {
      const plan = plans.find((p) => p.name === name && p.vramMiB);
      if (!plan) return false;
      gpu.hog(HOG.mib, HOG.seconds);
      await fsp.appendFile(files(plan).log, `ggml_backend_cuda_buffer_type_alloc_buffer: allocating ${plan.vramMiB} MiB on device 0: cudaMalloc failed: out of memory\n`);
      return killFromPidfile(files(plan).pidfile);
    },
    async breakCompletions(name) {
      const plan = plans.find((p) => p.name === name && p.deepCheck);
      if (!plan) return false;
      await fsp.writeFile(breakFile(plan.name), `broken by the demo at ${new Date().toISOString()}\n`);
      return true;
    },
    async stop() {
      gpu.stop();
      for (const p of plans) killFromPidfile(files(p).pidfile);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
