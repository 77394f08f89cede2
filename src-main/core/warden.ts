import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import { resolveService, type WardenConfig } from '../../src-shared/config-schema.js';
import { serviceLogFile, servicePidfile } from './config/service-files.js';
import { pgidFromPidfile, type GpuOwner } from './gpu/attribution.js';
import { GpuMonitor } from './gpu/gpu-monitor.js';
import { ConfigError, etagOf, parseConfigFile, saveConfig, serializeConfig } from './config/config-file.js';
import { ConfigFileWatch } from './config/config-watch.js';
import { EventJournal } from './journal/event-journal.js';
import { DockerServiceManager } from './managers/docker-service-manager.js';
import type { ServiceManager } from './managers/service-manager.js';
import { InflightRestarts, type InflightRestart } from './managers/inflight-restarts.js';
import { stopGroup } from './managers/process-group.js';
import { SystemdServiceManager } from './managers/systemd-service-manager.js';
import { ShellServiceManager } from './managers/shell-service-manager.js';
import type { ConfigNotice, MaintenanceList, MaintenanceWindow } from '../../src-shared/protocol.js';
import { systemClock } from './monitor/clock.js';
import type { Clock } from './monitor/clock.js';
import { EventBus, type Listener } from './monitor/event-bus.js';
import { HealthMonitor, type ServiceRuntime } from './monitor/health-monitor.js';
import { ProbeRegistry } from './probes/probe-registry.js';
import { DockerEventWatcher } from './managers/docker-events.js';
import { SignalHub } from './signals/signal-hub.js';
import { StopIntents } from './signals/stop-intents.js';
import { parseHealthUrl } from '../../src-shared/health-url.js';
import { AlertHub, type AlertHubDeps } from './alerts/alert-hub.js';
import { MaintenanceScheduler } from './maintenance/scheduler.js';

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
  /** The systemd strategy's D-Bus addresses (default: DBUS_SYSTEM_BUS_ADDRESS / DBUS_SESSION_BUS_ADDRESS, or the standard sockets). */
  systemdBus?: { system?: string; user?: string };
  /** Tests: the Apprise CLI, the alert policy's limits, the host name alerts carry. */
  alertOptions?: Pick<AlertHubDeps, 'apprise' | 'limits' | 'host'>;
}

/** The composed core: one for `warden serve`, one for the tray app. */
export interface Warden {
  readonly monitor: HealthMonitor;
  readonly journal: EventJournal;
  readonly logger: Logger;
  /** Event-driven detection (watch connections, pidfiles, Docker events). */
  readonly signals: SignalHub;
  /** GPU telemetry (nvidia-smi), when there is a GPU. */
  readonly gpu: GpuMonitor;
  /** Maintenance windows (CONTRACT §14): list them, begin an ad-hoc one, end the ad-hoc ones. */
  readonly maintenance: {
    list(): MaintenanceList;
    start(req: { services?: string[]; minutes: number; reason?: string }): Promise<MaintenanceWindow>;
    endAdHoc(): Promise<number>;
  };
  /** Alerts (CONTRACT §15): the one policy's alerts (the tray shows them) and their channels. */
  readonly alerts: AlertHub;
  /** The config in effect (settings with the overrides applied). */
  config(): WardenConfig;
  /** The saved settings, as the file has them: what the settings page edits. */
  settings(): WardenConfig;
  /**
   * Apply validated settings: overlay (may throw ConfigError, nothing saved), save atomically, apply
   * live. With `ifMatch`, throws SettingsConflict (nothing saved) unless the file still has that ETag.
   */
  updateConfig(next: WardenConfig, opts?: { ifMatch?: string }): Promise<void>;
  /** The saved settings' version, as an HTTP ETag of the config file's text. */
  settingsEtag(): string;
  /** A hand edit of the config file that could not be used (the running config stayed), or null. */
  configProblem(): string | null;
  /** Hand edits of the config file, applied or refused. */
  onConfigChange(listener: Listener<ConfigNotice>): () => void;
  start(): void;
  stop(): Promise<void>;
}

/** PUT /api/settings with an If-Match the config file no longer has (a hand edit came between): 412. */
export class SettingsConflict extends Error {
  constructor() {
    super('the config file changed on disk since the settings were read: reload them');
    this.name = 'SettingsConflict';
  }
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
        : type === 'systemd'
          ? new SystemdServiceManager({
              probes: ctx.probes,
              logger,
              systemBusAddress: deps.systemdBus?.system,
              userBusAddress: deps.systemdBus?.user,
              // A unit's state changed: look at the services it is, now.
              onUnitChange: (unit) => {
                for (const s of config.services) {
                  const svc = resolveService(config, s);
                  const health = /^systemd:\/\//i.test(svc.healthUrl) ? parseHealthUrl(svc.healthUrl) : null;
                  if (svc.strategy === 'systemd' && (svc.unit === unit || (health?.scheme === 'systemd' && health.unit === unit))) monitor.trigger(s.name);
                }
              },
            })
          : new ShellServiceManager({ probes: ctx.probes, workingDir: ctx.workingDir, logger, inflight }));
  // Looked up once: a file-system walk, never on the probe path.
  let aiRoot: string | undefined;
  /**
   * Each service with the strategy that acts on it, resolved once per config apply. Strategies are
   * built once per kind and folder and kept, so a shell↔docker switch never cuts an in-flight restart.
   */
  const runtimes = (cfg: WardenConfig): ServiceRuntime[] => {
    const workingDir = cfg.workingDir ?? deps.defaultWorkingDir ?? (aiRoot ??= findAiRoot());
    return cfg.services.map((s) => {
      // Each service's own strategy (CONTRACT §13), one manager per kind (and folder, for shell).
      const svc = resolveService(cfg, s);
      const key = svc.strategy === 'shell' ? `shell:${workingDir}` : svc.strategy;
      let manager = managers.get(key);
      if (!manager) managers.set(key, (manager = build(svc.strategy, { probes, workingDir })));
      return { svc, manager, workingDir };
    });
  };

  const journal = await EventJournal.open(deps.dataDir, { logger });
  const signals = new SignalHub((name) => monitor.trigger(name), logger, {
    dockerEvents: () => new DockerEventWatcher({ docker: deps.docker }),
    onContainerEvent: (e) => intents.record(e),
  });
  /** The GPU services and how their processes are recognised: process group (shell) or container (docker). */
  const gpuOwners = async (): Promise<GpuOwner[]> =>
    Promise.all(
      runtimes(config)
        .filter((r) => r.svc.gpu)
        .map(async ({ svc, manager }) =>
          manager instanceof DockerServiceManager
            ? { service: svc.name, containerId: (await manager.containerId(svc.container)) ?? undefined }
            : { service: svc.name, pgid: await pgidFromPidfile(servicePidfile(svc, process.env) ?? '') },
        ),
    );
  const gpu = new GpuMonitor({ config: config.gpu, owners: gpuOwners, logger });
  const monitor = new HealthMonitor({ services: runtimes(config), logger, clock: deps.clock, logFileOf: (svc) => serviceLogFile(svc, process.env), gpu });
  monitor.subscribe((event) => {
    void journal.append(event);
  });
  const maintenance = new MaintenanceScheduler({ clock: deps.clock ?? systemClock, target: monitor, file: path.join(deps.dataDir, 'maintenance.json'), logger });
  await maintenance.load();
  maintenance.apply(config.maintenance);

  const alerts = new AlertHub({
    dataDir: deps.dataDir,
    baseDir: deps.configFile ? path.dirname(deps.configFile) : deps.dataDir,
    logger,
    clock: deps.clock ?? systemClock,
    monitor,
    config: () => config.alerts,
    services: () => config.services.map((s) => s.name),
    // Click-through goes to this machine's dashboard (never with its token: that stays here).
    defaultDashboardUrl: () => dashboardUrlOf(config.server),
    ...deps.alertOptions,
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
    const { live, stale } = inflight.survivors();
    if (stale.length) logger.info({ services: stale }, 'dropped records of restarts that ended while no Warden ran');
    for (const entry of live) {
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

  // Settings apply one at a time, in order (§9.4): two saves close together never interleave —
  // and neither does a hand edit of the file picked up by the watch.
  let queue: Promise<unknown> = Promise.resolve();
  let stopping = false;
  const enqueue = <T>(step: () => Promise<T>): Promise<T> => {
    const run = queue.then(step);
    queue = run.catch(() => undefined);
    return run;
  };
  /** The config file's text as Warden last read or wrote it: the saved settings' version. */
  let knownText: string | null = deps.configFile ? await fs.promises.readFile(deps.configFile, 'utf8').catch(() => null) : null;
  let problem: string | null = null;
  const configBus = new EventBus<ConfigNotice>(logger, 'config');
  const version = () => etagOf(knownText ?? serializeConfig(settings));

  /** Everything that can refuse runs before anything changes: the overlay (ConfigError) and the plan. */
  const apply = (next: WardenConfig, effective: WardenConfig, plan: ServiceRuntime[], why: string): void => {
    const switched = effective.serviceManagerType !== config.serviceManagerType;
    const removed = config.services.filter((s) => !effective.services.some((n) => n.name === s.name));
    settings = next;
    config = effective;
    // One synchronous step: monitor, signals and probes all show this config together.
    monitor.apply(plan);
    maintenance.apply(effective.maintenance);
    signals.apply(effective);
    gpu.apply(effective.gpu);
    void alerts.apply().catch((err: unknown) => logger.error({ err }, 'could not apply the alert channels'));
    for (const s of removed) void probes.forget(s.name);
    logger.info({ serviceManagerType: effective.serviceManagerType, switched, why }, 'settings applied');
  };

  const saveSettings = async (next: WardenConfig, ifMatch: string | undefined): Promise<void> => {
    if (stopping) throw new Error('Warden is stopping: settings not applied');
    // If-Match (§10): the file must still be what the client read, hand edits included.
    if (ifMatch !== undefined && ifMatch !== '*') {
      const onDisk = deps.configFile ? await fs.promises.readFile(deps.configFile, 'utf8').catch(() => null) : null;
      if (etagOf(onDisk ?? knownText ?? serializeConfig(settings)) !== ifMatch) throw new SettingsConflict();
    }
    const effective = overlay(next);
    const plan = runtimes(effective);
    if (deps.configFile) knownText = await saveConfig(deps.configFile, next);
    else knownText = null;
    apply(next, effective, plan, 'saved');
  };

  /** The file changed on disk (a hand edit): apply it if it is valid, else keep running as is and say why. */
  const reloadFromDisk = async (file: string): Promise<void> => {
    if (stopping) return;
    const text = await fs.promises.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
    if (text === knownText) return; // our own save, or nothing new
    const refuse = (message: string) => {
      problem = message;
      logger.error({ file, problem: message }, 'config file changed on disk but cannot be used; the running config stays');
      configBus.publish({ type: 'config', status: 'invalid', message, timestamp: new Date().toISOString() });
    };
    if (text === null) return refuse(`${path.basename(file)}: the file was removed; the running config stays (saving the settings writes it again)`);
    let next: WardenConfig;
    let effective: WardenConfig;
    try {
      next = parseConfigFile(file, text);
      effective = overlay(next);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return refuse(err.message);
    }
    const plan = runtimes(effective);
    knownText = text;
    problem = null;
    apply(next, effective, plan, 'edited on disk');
    configBus.publish({ type: 'config', status: 'applied', message: `${path.basename(file)} changed on disk: applied`, timestamp: new Date().toISOString() });
  };
  const fileWatch = deps.configFile
    ? new ConfigFileWatch(
        deps.configFile,
        () => void enqueue(() => reloadFromDisk(deps.configFile!)).catch((err: unknown) => logger.error({ err }, 'could not reload the config file')),
        (err) => logger.warn({ err, file: deps.configFile }, 'cannot watch the config file: hand edits apply at the next start'),
      )
    : null;

  return {
    monitor,
    journal,
    logger,
    signals,
    gpu,
    alerts,
    maintenance: {
      list: () => maintenance.list(),
      start: (req) => maintenance.begin(req),
      endAdHoc: () => maintenance.endAdHoc(),
    },
    config: () => config,
    settings: () => settings,
    settingsEtag: version,
    configProblem: () => problem,
    onConfigChange: (listener) => configBus.subscribe(listener),
    updateConfig(next, opts = {}) {
      return enqueue(() => saveSettings(next, opts.ifMatch));
    },
    start() {
      logger.info({ services: config.services.map((s) => s.name), strategy: config.serviceManagerType }, 'warden started');
      void alerts.start().catch((err: unknown) => logger.error({ err }, 'could not read the alert outbox'));
      monitor.start(adoptions(config));
      maintenance.start();
      signals.apply(config);
      gpu.start();
      fileWatch?.start();
    },
    async stop() {
      stopping = true;
      fileWatch?.stop();
      await queue; // a save in progress lands (or fails) before the monitor stops
      signals.stop();
      gpu.stop();
      maintenance.stop();
      await monitor.stop();
      await alerts.stop();
      await Promise.all([...managers.values()].map((m) => m.close()));
      await probes.close();
      await journal.flush();
      logger.info('warden stopped');
    },
  };
}

/**
 * The dashboard's address for an alert's click-through: this machine's server, or none when it
 * has no fixed one (port 0). A wildcard bind is reached on loopback.
 */
export function dashboardUrlOf(server: { host: string; port: number }): string | null {
  if (server.port === 0) return null;
  const host = server.host === '0.0.0.0' || server.host === '::' ? '127.0.0.1' : server.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${server.port}/`;
}
