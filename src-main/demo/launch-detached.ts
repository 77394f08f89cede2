import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { freeMiBFromState } from './demo-gpu.js';

/** Is something accepting connections on 127.0.0.1:port? */
export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Kill the process group recorded in a pidfile, if it is still there. */
export function killFromPidfile(pidfile: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  const pid = Number(fs.readFileSync(pidfile, { encoding: 'utf8', flag: 'a+' }).trim());
  // 0 and 1 would signal our own group or every process: a pidfile never names those.
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export interface LaunchOptions {
  argv: string[];
  port: number;
  pidfile: string;
  log: string;
  timeoutMs?: number;
  /** A model on the demo's simulated GPU: it needs this much free, or it fails as PyTorch does. */
  needsVram?: { mib: number; stateFile: string };
}

/**
 * Start a server in its own session (so a restart command's timeout never kills it), appending its
 * output to a log, after stopping the previous instance from the pidfile; resolve once its port
 * accepts connections. The demo's restart commands are built on this.
 */
export async function launchDetached(opts: LaunchOptions): Promise<{ ok: boolean; pid: number; message: string }> {
  killFromPidfile(opts.pidfile);
  const free = opts.needsVram ? freeMiBFromState(opts.needsVram.stateFile) : null;
  if (opts.needsVram && free !== null && free < opts.needsVram.mib) {
    const gib = (mib: number) => (mib / 1024).toFixed(2);
    const message = `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ${gib(opts.needsVram.mib)} GiB (GPU 0; ${gib(free)} GiB free)`;
    fs.appendFileSync(opts.log, `${message}\n`);
    return { ok: false, pid: 0, message };
  }
  const out = fs.openSync(opts.log, 'a');
  const [cmd, ...args] = opts.argv;
  const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const pid = child.pid!;
  fs.writeFileSync(opts.pidfile, `${pid}\n`);
  let exited: string | null = null;
  child.once('exit', (code, sig) => (exited = `exited early (${sig ?? `code ${code}`})`));
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  try {
    while (Date.now() < deadline) {
      if (exited) return { ok: false, pid, message: exited };
      if (await portOpen(opts.port)) return { ok: true, pid, message: `listening on ${opts.port}` };
      await new Promise((r) => setTimeout(r, 100));
    }
    return { ok: false, pid, message: `port ${opts.port} not open in time` };
  } finally {
    child.unref();
  }
}

/* c8 ignore start -- the command-line wrapper runs as the demo's restart command, in a child process */
async function cli(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string' }, pidfile: { type: 'string' }, log: { type: 'string' }, 'needs-vram': { type: 'string' }, 'gpu-state': { type: 'string' } },
  });
  const needsVram = values['needs-vram'] && values['gpu-state'] ? { mib: Number(values['needs-vram']), stateFile: values['gpu-state'] } : undefined;
  const result = await launchDetached({ argv: positionals, port: Number(values.port), pidfile: values.pidfile!, log: values.log!, needsVram });
  process.stdout.write(`${result.message}\n`);
  if (!result.ok && result.pid !== 0) process.stdout.write(fs.readFileSync(values.log!, 'utf8').slice(-2000));
  process.exit(result.ok ? 0 : 1);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) void cli();
/* c8 ignore stop */
