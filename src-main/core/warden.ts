import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import { resolveService, type WardenConfig } from '../../src-shared/config-schema.js';
import { saveConfig } from './config/config-file.js';
import { EventJournal } from './journal/event-journal.js';
import { DockerServiceManager } from './managers/docker-service-manager.js';
import type { ServiceManager } from './managers/service-manager.js';
import { InflightRestarts, type InflightRestart } from './managers/inflight-restarts.js';
import { stopGroup } from './managers/process-group.js';
import { ShellServiceManager } from './managers/shell-service-manager.js';
import type { Clock } from './monitor/clock.js';
import { HealthMonitor, type ServiceRuntime } from './monitor/health-monitor.js';
import { ProbeRegistry } from './probes/probe-registry.js';
import { DockerEventWatcher } from './managers/docker-events.js';
import { SignalHub } from './signals/signal-hub.js';
import { StopIntents } from './signals/stop-intents.js';

/** What differs between the headless CLI and the tray app, passed in as small pieces. */
export interface WardenDeps {
  logger: Logger;
  /** Where settings are saved (PUT /api/settings); null: never saved (e.g. tests). */
  configFile: string | null;
  /** `<dataDir>/events.jsonl` lives here. */
  dataDir: string;
  /** Folder that holds `ai/`, used when config.workingDir is null (packaged app: resourcesPath). */
  defaultWorkingDir?: string;
  clock?: Clock;
  /**
   * What turns saved settings into the config in effect (the WARDEN_* environment, --host/--port);
   * default: none. Overrides are never written back to the file. Throws ConfigError when they do not fit.
   */
  overlay?: (settings: WardenConfig) => WardenConfig;
  /** The Docker Engine client for the docker strategy and its event stream (default: DOCKER_HOST or the default socket). */
  docker?: Dockerode;
  /** Build a strategy (tests inject; default: the real shell and docker managers). */
  createManager?: (type: WardenConfig['serviceManagerType'], ctx: { probes: ProbeRegistry; workingDir: string }) => ServiceManager;
}

/** The composed core: one for `warden serve`, one for the tray app. */
export interface Warden {
  readonly monitor: HealthMonitor;
  readonly journal: EventJournal;
  readonly logger: Logger;
  /** Event-driven detection (watch connections, pidfiles, Docker events). */
  readonly signals: SignalHub;
  /** The config in effect (settings with the overrides applied). */
  config(): WardenConfig;
  /** The saved settings, as the file has them: what the settings page edits. */
  settings(): WardenConfig;
  /** Apply validated settings: overlay (may throw ConfigError, nothing saved), save atomically, apply live. */
  updateConfig(next: WardenConfig): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** The folder holding `ai/`: the repo root in development (searched upward from this file). */
export function findAiRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'ai', 'start_detector.sh'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** Compose config, probes, strategies, monitor and journal (ARCHITECTURE: one core, three faces). */
export async function createWarden(initial: WardenConfig, deps: WardenDeps): Promise<Warden> {
  const overlay = deps.overlay ?? ((c: WardenConfig) => c);
  let settings = initial;
  let config = overlay(initial);
  const logger = deps.logger;
  const probes = new ProbeRegistry();
  const managers = new Map<string, ServiceManager>();
  const intents = new StopIntents();
  const inflight = new InflightRestarts(path.join(deps.dataDir, 'inflight'));
  const build =
    deps.createManager ??
    ((type, ctx) =>
      type === 'docker'
        ? new DockerServiceManager({ probes: ctx.probes, logger, intents, docker: deps.docker })
        : new ShellServiceManager({ probes: ctx.probes, workingDir: ctx.workingDir, logger, inflight }));
  // Looked up once: a file-system walk, never on the probe path.
  let aiRoot: string | undefined;
  /**
   * Each service with the strategy that acts on it, resolved once per config apply. Strategies are
   * built once per kind and folder and kept, so a shell↔docker switch never cuts an in-flight restart.
   */
  const runtimes = (cfg: WardenConfig): ServiceRuntime[] => {
    const workingDir = cfg.workingDir ?? deps.defaultWorkingDir ?? (aiRoot ??= findAiRoot());
    const key = `${cfg.serviceManagerType}:${workingDir}`;
    let manager = managers.get(key);
    if (!manager) managers.set(key, (manager = build(cfg.serviceManagerType, { probes, workingDir })));
    return cfg.services.map((s) => ({ svc: resolveService(cfg, s), manager }));
  };

  const journal = await EventJournal.open(deps.dataDir, { logger });
  const monitor = new HealthMonitor({ services: runtimes(config), logger, clock: deps.clock });
  monitor.subscribe((event) => {
    void journal.append(event);
  });
  const signals = new SignalHub((name) => monitor.trigger(name), logger, {
    dockerEvents: () => new DockerEventWatcher({ docker: deps.docker }),
    onContainerEvent: (e) => intents.record(e),
  });
  // A service that just came back gets its watch connection at once, not on its retry backoff.
  monitor.subscribe((event) => {
    if (event.status === 'healthy') signals.rearm(event.service);
  });

  /**
   * Restart commands a previous Warden left running (killed mid-restart): each is followed by its
   * service's runner, never started a second time (§9.1). One whose service is gone, or no longer
   * run by the shell strategy, has nobody to wait for it: its group is killed.
   */
  const adoptions = (cfg: WardenConfig): Map<string, InflightRestart> => {
    const byName = new Map(runtimes(cfg).map((r) => [r.svc.name, r]));
    const found = new Map<string, InflightRestart>();
    for (const entry of inflight.survivors().live) {
      if (byName.get(entry.service)?.manager.adopt) {
        logger.warn({ service: entry.service, pgid: entry.pgid }, 'adopting a restart left running by a previous Warden');
        found.set(entry.service, entry);
      } else {
        logger.warn({ service: entry.service, pgid: entry.pgid }, 'killing a restart left running by a previous Warden for a service no longer run by the shell strategy');
        void stopGroup(entry.pgid, 5000).catch(() => undefined);
      }
    }
    return found;
  };

  // Settings apply one at a time, in order (§9.4): two saves close together never interleave.
  let queue: Promise<unknown> = Promise.resolve();
  let stopping = false;
  const applySettings = async (next: WardenConfig): Promise<void> => {
    if (stopping) throw new Error('Warden is stopping: settings not applied');
    // Everything that can refuse runs before anything changes: the overlay (ConfigError) and the plan.
    const effective = overlay(next);
    const plan = runtimes(effective);
    if (deps.configFile) await saveConfig(deps.configFile, next);
    const switched = effective.serviceManagerType !== config.serviceManagerType;
    const removed = config.services.filter((s) => !effective.services.some((n) => n.name === s.name));
    settings = next;
    config = effective;
    // One synchronous step: monitor, signals and probes all show this config together.
    monitor.apply(plan);
    signals.apply(effective);
    for (const s of removed) void probes.forget(s.name);
    logger.info({ serviceManagerType: effective.serviceManagerType, switched }, 'settings applied');
  };

  return {
    monitor,
    journal,
    logger,
    signals,
    config: () => config,
    settings: () => settings,
    updateConfig(next) {
      const run = queue.then(() => applySettings(next));
      queue = run.catch(() => undefined);
      return run;
    },
    start() {
      logger.info({ services: config.services.map((s) => s.name), strategy: config.serviceManagerType }, 'warden started');
      monitor.start(adoptions(config));
      signals.apply(config);
    },
    async stop() {
      stopping = true;
      await queue; // a save in progress lands (or fails) before the monitor stops
      signals.stop();
      await monitor.stop();
      await Promise.all([...managers.values()].map((m) => m.close()));
      await probes.close();
      await journal.flush();
      logger.info('warden stopped');
    },
  };
}
