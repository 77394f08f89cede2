import type { WardenConfig } from '../../src-shared/config-schema.js';
import { ConfigError, loadConfig, withEnvOverrides, type LoadedConfig } from '../core/config/config-file.js';
import { configDir, configPath, dataDir } from '../core/config/paths.js';
import { createLogger, type Logger } from '../core/log/logger.js';
import { startServer } from '../core/server/http-server.js';
import { removeServerFile, serverFilePath, writeServerFile } from '../core/server/server-file.js';
import { loadOrCreateToken } from '../core/server/token.js';
import { createWarden } from '../core/warden.js';
import { startDemo, type Demo } from '../demo/demo-services.js';
import { EXIT, type CliIo } from './io.js';

export interface ServeOptions {
  config?: string;
  host?: string;
  port?: string;
  demo?: boolean;
  /** Tests pass a quiet logger; the CLI logs JSON lines to stdout. */
  logger?: Logger;
}

/** `warden serve`: monitor + server + dashboard, headless, until `signal` aborts (SIGINT/SIGTERM). */
export async function serveCommand(opts: ServeOptions, io: CliIo, signal: AbortSignal): Promise<number> {
  const port = opts.port === undefined ? undefined : Number(opts.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    io.stderr(`--port: must be a whole number 0–65535 (got "${opts.port}")\n`);
    return EXIT.usage;
  }
  const file = configPath(opts.config, io.env);
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(file, { env: io.env, onInvalid: 'throw' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.message}\n`);
    return EXIT.usage;
  }
  const logger = opts.logger ?? createLogger();
  const demo: Demo | null = opts.demo ? await startDemo({ logger }) : null;
  // Saved settings stay as the file has them; the environment and --host/--port apply on top and
  // are never written back by a settings save.
  const settings: WardenConfig = demo ? { ...loaded.fileConfig, ...demo.config } : loaded.fileConfig;
  const overlay = (s: WardenConfig): WardenConfig => {
    const c = withEnvOverrides(s, io.env);
    return { ...c, server: { host: opts.host ?? c.server.host, port: port ?? c.server.port } };
  };

  const warden = await createWarden(settings, {
    logger,
    overlay,
    // The demo never writes its stand-in services into the user's config file.
    configFile: demo ? null : file,
    dataDir: demo ? demo.dataDir : dataDir(io.env),
  });
  const config = warden.config();
  const token = await loadOrCreateToken(configDir(io.env), io.env);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ warden, host: config.server.host, port: config.server.port, token, logger, demo: demo ?? undefined });
  } catch (err) {
    io.stderr(`cannot start the server: ${(err as Error).message}\n`);
    await demo?.stop();
    return EXIT.runtime;
  }
  // Client commands find this server through it, whatever port it got (--port 0).
  const serverFile = serverFilePath(io.env);
  await writeServerFile(serverFile, { url: server.url, pid: process.pid }).catch((err: unknown) => logger.warn({ err, file: serverFile }, 'could not write the server file'));
  io.stdout(`Warden dashboard: ${server.dashboardUrl}\n`);
  if (demo) io.stdout(`Demo mode: stand-in services ${config.services.map((s) => s.name).join(', ')}; use "Simulate crash" on the dashboard.\n`);
  warden.start();

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info('stopping');
  await removeServerFile(serverFile, process.pid).catch(() => undefined);
  await server.close();
  await warden.stop();
  await demo?.stop();
  return EXIT.ok;
}
