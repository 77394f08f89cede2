import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Structured JSON logs (one line per event) to stdout by default, or to a given stream. */
export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'warden',
      level: opts.level ?? process.env.WARDEN_LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? stdout(),
  );
}

/**
 * stdout, synchronously, through pino.destination and never a pino transport: a transport runs a
 * worker file that pino finds next to itself, and in the bundled CLI (scripts/bundle-cli.mjs)
 * there is none. A write that fails (EIO once the terminal running `warden serve` is
 * closed, EPIPE once a pipe reader left) is dropped: a log line that cannot be written must never
 * stop the monitor, nor its clean shutdown.
 */
function stdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: true });
  dest.on('error', () => undefined);
  return dest;
}

/** A logger that drops everything: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
