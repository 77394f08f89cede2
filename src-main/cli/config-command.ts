import fs from 'node:fs/promises';
import { ConfigError, parseConfigText } from '../core/config/config-file.js';
import { configPath } from '../core/config/paths.js';
import { EXIT, type CliIo } from './io.js';

/** `warden config validate [FILE]`: exit 0 when valid, 2 naming every bad field. */
export async function configValidate(file: string | undefined, io: CliIo): Promise<number> {
  const target = configPath(file, io.env);
  let text: string;
  try {
    text = await fs.readFile(target, 'utf8');
  } catch (err) {
    io.stderr(`${target}: cannot read: ${(err as Error).message}\n`);
    return EXIT.usage;
  }
  try {
    const config = parseConfigText(target, text, io.env);
    io.stdout(`${target}: valid (${config.services.length} services: ${config.services.map((s) => s.name).join(', ')})\n`);
    return EXIT.ok;
  } catch (err) {
    /* c8 ignore next -- parseConfigText only throws ConfigError */
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.message}\n`);
    return EXIT.usage;
  }
}
