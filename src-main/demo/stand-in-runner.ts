import { readFile, rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { COMPLETION_MODES, STAND_IN_KINDS, startStandIn, type CompletionMode, type StandInKind } from './stand-in-service.js';

/** Command-line help of the stand-in service. */
export const STAND_IN_USAGE = `usage: stand-in [options]
  --port N           port on 127.0.0.1 (0 = any free port; default 0)
  --kind K           detector | llm | plain (default plain)
  --load-seconds N   llm: 503 "Loading model" for N s; detector: bind only after N s
  --degraded         detector: 200 {"status":"degraded","model_loaded":false}
  --hang             accept connections and never answer
  --completions M    ok | fail | hang: what POST /completion, /v1/chat/completions
                     (llm) and /detect (detector) do while /health says ok (default ok)
  --slots N          llm: slots listed by GET /slots (default 1)
  --busy             llm: every slot busy generating
  --break-file FILE  the model endpoints hang while FILE exists; removed at start
  --exit-at-once     exit 3 at once, like a service that cannot start
  --pidfile FILE     write the pid there once listening (removed on a clean exit)
Prints "listening <port>" once ready; SIGTERM or SIGINT stops it (exit 0).`;

/** Parsed stand-in command line. */
export interface StandInArgs {
  port: number;
  kind: StandInKind;
  loadSeconds: number;
  degraded: boolean;
  hang: boolean;
  completions: CompletionMode;
  slots: number;
  busy: boolean;
  breakFile: string | undefined;
  exitAtOnce: boolean;
  pidfile: string | undefined;
  help: boolean;
}

/** Parse the stand-in's argv; throws an Error with a one-line message on bad usage. */
export function parseStandInArgs(argv: string[]): StandInArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string', default: '0' },
      kind: { type: 'string', default: 'plain' },
      'load-seconds': { type: 'string', default: '0' },
      degraded: { type: 'boolean', default: false },
      hang: { type: 'boolean', default: false },
      completions: { type: 'string', default: 'ok' },
      slots: { type: 'string', default: '1' },
      busy: { type: 'boolean', default: false },
      'break-file': { type: 'string' },
      'exit-at-once': { type: 'boolean', default: false },
      pidfile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) throw new Error(`--port must be 0–65535, got "${values.port}"`);
  const kind = values.kind as StandInKind;
  if (!STAND_IN_KINDS.includes(kind)) throw new Error(`--kind must be ${STAND_IN_KINDS.join(', ')}; got "${values.kind}"`);
  const loadSeconds = Number(values['load-seconds']);
  if (values['load-seconds'].trim() === '' || !Number.isFinite(loadSeconds) || loadSeconds < 0) {
    throw new Error(`--load-seconds must be a number of seconds ≥ 0, got "${values['load-seconds']}"`);
  }
  const completions = values.completions as CompletionMode;
  if (!COMPLETION_MODES.includes(completions)) throw new Error(`--completions must be ${COMPLETION_MODES.join(', ')}; got "${values.completions}"`);
  const slots = Number(values.slots);
  if (!/^\d+$/.test(values.slots) || slots < 1 || slots > 64) throw new Error(`--slots must be 1–64, got "${values.slots}"`);
  return {
    port,
    kind,
    loadSeconds,
    degraded: values.degraded,
    hang: values.hang,
    completions,
    slots,
    busy: values.busy,
    breakFile: values['break-file'],
    exitAtOnce: values['exit-at-once'],
    pidfile: values.pidfile,
    help: values.help,
  };
}

/** What the runner touches of its process: passed in so it runs in-process in tests. */
export interface StandInIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Where SIGTERM/SIGINT arrive: `process`, or any emitter in tests. */
  signals: {
    once(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
    off(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  };
  pid: number;
}

/** Run the stand-in CLI until SIGTERM/SIGINT; resolves with the exit code. */
export async function runStandInCli(argv: string[], io: StandInIo): Promise<number> {
  let args: StandInArgs;
  try {
    args = parseStandInArgs(argv);
  } catch (err) {
    io.stderr(`stand-in: ${(err as Error).message}\n${STAND_IN_USAGE}\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(`${STAND_IN_USAGE}\n`);
    return 0;
  }
  if (args.exitAtOnce) {
    // Like llama-server whose model does not fit in VRAM: a failure no restart can fix.
    io.stderr(`stand-in (${args.kind}): fatal: cannot start (--exit-at-once): failed to fit params to free device memory\n`);
    return 3;
  }

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  io.signals.once('SIGTERM', onSignal);
  io.signals.once('SIGINT', onSignal);
  try {
    let standIn;
    try {
      standIn = await startStandIn({ ...args, signal: stop.signal });
    } catch (err) {
      if (stop.signal.aborted) return 0; // stopped while the detector was still "loading"
      io.stderr(`stand-in: cannot listen on 127.0.0.1:${args.port}: ${(err as Error).message}\n`);
      return 1;
    }
    const pidText = `${io.pid}\n`;
    if (args.pidfile !== undefined) await writeFile(args.pidfile, pidText);
    io.stdout(`listening ${standIn.port}\n`);
    if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
    await standIn.close();
    // Remove the pidfile only if it is still ours (a newer instance may have replaced it).
    if (args.pidfile !== undefined && (await readFile(args.pidfile, 'utf8').catch(() => '')) === pidText) {
      await rm(args.pidfile, { force: true });
    }
    return 0;
  } finally {
    io.signals.off('SIGTERM', onSignal);
    io.signals.off('SIGINT', onSignal);
  }
}
