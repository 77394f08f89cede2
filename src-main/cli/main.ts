import { parseArgs } from 'node:util';
import { ACTIONS, type ServiceAction } from '../../src-shared/protocol.js';
import { actionCommand, maintenanceCommand, statusCommand } from './client-commands.js';
import { configValidate } from './config-command.js';
import { doctorCommand } from './doctor-command.js';
import { EXIT, type CliIo } from './io.js';
import { serveCommand, type ServeOptions } from './serve-command.js';

export const USAGE = `Usage:
  warden serve [--config FILE] [--host H] [--port P] [--demo]   headless: monitor + server + dashboard
  warden status [--json] [--config FILE] [--url URL]            asks the running server
  warden restart|pause|resume|reset NAME [--config FILE] [--url URL]
  warden maintenance [NAME…] DURATION [--reason R]   e.g. 30m, 2h (no NAME: all services)
  warden maintenance [--end] [--json]                 list windows; --end ends the ad-hoc ones
  warden config validate [FILE]
  warden doctor [--config FILE] [--json]             can each service's strategy restart it? what to fix

Exit codes: 0 ok, 1 runtime error, 2 bad usage or bad config, 3 server not reachable.
`;

/** The `warden` command line (CONTRACT §6); returns the exit code. */
export async function main(argv: string[], io: CliIo, signal: AbortSignal, extra: Pick<ServeOptions, 'logger'> = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        demo: { type: 'boolean' },
        json: { type: 'boolean' },
        url: { type: 'string' },
        reason: { type: 'string' },
        end: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const client = { config: values.config, url: values.url };
  switch (command) {
    case 'serve':
      if (rest.length) break;
      return serveCommand({ config: values.config, host: values.host, port: values.port, demo: values.demo, ...extra }, io, signal);
    case 'status':
      if (rest.length) break;
      return statusCommand({ ...client, json: values.json }, io);
    case 'maintenance':
      return maintenanceCommand(rest, { ...client, reason: values.reason, end: values.end, json: values.json }, io);
    case 'doctor':
      if (rest.length) break;
      return doctorCommand({ config: values.config, json: values.json }, io);
    case 'config':
      if (rest[0] !== 'validate' || rest.length > 2) break;
      return configValidate(rest[1] ?? values.config, io);
    default:
      if ((ACTIONS as readonly string[]).includes(command ?? '') && rest.length === 1) {
        return actionCommand(command as ServiceAction, rest[0]!, client, io);
      }
  }
  io.stderr(`${command ? `unknown or incomplete command: ${[command, ...rest].join(' ')}` : 'no command given'}\n\n${USAGE}`);
  return EXIT.usage;
}
