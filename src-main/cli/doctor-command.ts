import fs from 'node:fs/promises';
import { ConfigError, parseConfigText } from '../core/config/config-file.js';
import { configPath } from '../core/config/paths.js';
import { diagnose, formatFindings } from '../core/doctor/doctor.js';
import { silentLogger } from '../core/log/logger.js';
import { findAiRoot } from '../core/warden.js';
import { EXIT, type CliIo } from './io.js';

/**
 * `warden doctor [--config FILE] [--json]` (CONTRACT §13): can each service's strategy act on it?
 * Exit 0 when every one can, 1 when one cannot (each with what to fix), 2 on a bad config.
 */
export async function doctorCommand(opts: { config?: string; json?: boolean }, io: CliIo): Promise<number> {
  const file = configPath(opts.config, io.env);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    io.stderr(`${file}: cannot read: ${(err as Error).message}\n`);
    return EXIT.usage;
  }
  let config;
  try {
    config = parseConfigText(file, text, io.env);
  } catch (err) {
    /* c8 ignore next -- parseConfigText only throws ConfigError */
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.message}\n`);
    return EXIT.usage;
  }
  const findings = await diagnose(config, {
    logger: silentLogger(),
    workingDir: config.workingDir ?? findAiRoot(),
    env: io.env,
    systemdBus: { system: io.env.DBUS_SYSTEM_BUS_ADDRESS, user: io.env.DBUS_SESSION_BUS_ADDRESS },
  });
  io.stdout(opts.json ? `${JSON.stringify({ findings }, null, 2)}\n` : formatFindings(findings));
  return findings.every((f) => f.ok) ? EXIT.ok : EXIT.runtime;
}
