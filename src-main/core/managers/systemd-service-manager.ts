import type dbus from 'dbus-next';
import { load } from '../lazy-modules.js';
import type { Logger } from 'pino';
import type { ResolvedService } from '../../../src-shared/config-schema.js';
import { parseHealthUrl } from '../../../src-shared/health-url.js';
import type { ProbeResult } from '../probes/probe.js';
import type { ProbeRegistry } from '../probes/probe-registry.js';
import type { RestartResult, ServiceManager } from './service-manager.js';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const UNIT = 'org.freedesktop.systemd1.Unit';
const SERVICE = 'org.freedesktop.systemd1.Service';
const PROPS = 'org.freedesktop.DBus.Properties';

/** Say how to let the Warden user manage a unit without sudo (README "systemd"). */
export const POLKIT_HINT = 'allow it with a polkit rule for org.freedesktop.systemd1.manage-units (README: "systemd without sudo"), or run Warden as root';

/** A unit's state as systemd reports it. */
export interface UnitState {
  loadState: string;
  activeState: string;
  subState: string;
  /** The service's Result (success, exit-code, signal, core-dump, timeout …); '' for other unit types. */
  result: string;
  /** The job in progress (stop, start, restart …); '' when none. */
  jobType?: string;
}

/** One bus (system or user) and the Manager proxy on it, connected on first use. */
interface Bus {
  bus: dbus.MessageBus;
  manager: dbus.ClientInterface;
  /** Job path → its waiter (JobRemoved). */
  jobs: Map<string, (result: string) => void>;
  /**
   * Jobs that ended before anyone waited for them: a fast job's JobRemoved can be read in the same
   * chunk as RestartUnit's reply, before the reply's promise has run its callback.
   */
  ended: Map<string, string>;
}

export interface SystemdManagerOptions {
  probes: ProbeRegistry;
  logger: Logger;
  /** The system bus's address (default: DBUS_SYSTEM_BUS_ADDRESS or the standard socket). */
  systemBusAddress?: string;
  /** The user bus's address (default: DBUS_SESSION_BUS_ADDRESS). */
  userBusAddress?: string;
  /** A unit's state changed (PropertiesChanged on ActiveState/SubState): look at its service now. */
  onUnitChange?(unit: string): void;
}

/**
 * The systemd strategy (CONTRACT §13): restarts through systemd's D-Bus API (RestartUnit and the
 * job's JobRemoved), reads unit state for `systemd://unit` health and to tell a deliberate
 * `systemctl stop` from a crash, and reports each unit's state changes at once. No sudo: the bus
 * decides (root, or a polkit rule for the Warden user).
 */
export class SystemdServiceManager implements ServiceManager {
  readonly type = 'systemd' as const;
  private readonly buses = new Map<'system' | 'user', Promise<Bus>>();
  /** Units whose changes are reported, by bus: unit name → its Properties proxy's listener off(). */
  private readonly watched = new Map<string, () => void>();
  private closed = false;

  constructor(private readonly opts: SystemdManagerOptions) {}

  async checkHealth(svc: ResolvedService, signal?: AbortSignal): Promise<ProbeResult> {
    const started = Date.now();
    const target = parseHealthUrl(svc.healthUrl);
    const latency = () => Date.now() - started;
    if (target.scheme === 'systemd') {
      // Bounded: a bus that went away mid-call never answers (dbus-next does not fail pending calls).
      const state = await withTimeout(this.unitState(svc, target.unit), svc.serviceHealthTimeout * 1000, 'systemd did not answer in time').catch((err: unknown) => err as Error);
      if (state instanceof Error) return { state: 'down', reason: explain(state, target.unit), latencyMs: latency() };
      return { ...judgeUnit(state, target.unit), latencyMs: latency() };
    }
    // Its unit's changes are reported from the first look on (a crash seen at once, §13).
    if (!this.watched.has(`${svc.bus}:${unitOf(svc)}`)) void this.unitState(svc, unitOf(svc)).catch(() => undefined);
    const result = await this.opts.probes.get(svc).check(signal);
    if (result.state === 'up') return result;
    // Down to its URL: a unit someone stopped on purpose is paused, not restarted (§9.6).
    const state = await withTimeout(this.unitState(svc, unitOf(svc)), svc.serviceHealthTimeout * 1000, 'systemd did not answer in time').catch(() => null);
    return state && stoppedOnPurpose(state) ? { ...result, reason: `${unitOf(svc)} was stopped (systemctl stop): ${result.reason}`, stoppedOnPurpose: true } : result;
  }

  async restart(svc: ResolvedService, signal?: AbortSignal): Promise<RestartResult> {
    const unit = unitOf(svc);
    let b: Bus;
    try {
      b = await withTimeout(
        (async () => {
          const bus = await this.bus(svc);
          await this.requireUnit(bus, unit);
          return bus;
        })(),
        svc.restartTimeout * 1000,
        'systemd did not answer in time',
      );
      this.watch(svc, b, unit);
    } catch (err) {
      return failed(explain(err as Error, unit));
    }
    return new Promise<RestartResult>((resolve) => {
      let job: string | null = null;
      const finish = (r: RestartResult) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (job) b.jobs.delete(job);
        resolve(r);
      };
      const timer = setTimeout(() => finish({ ...failed(`${unit}: the restart job did not finish within ${svc.restartTimeout} s`), timedOut: true }), svc.restartTimeout * 1000);
      const onAbort = () => finish(failed('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      (b.manager.RestartUnit as (u: string, mode: string) => Promise<string>)(unit, 'replace').then(
        (path) => {
          job = path;
          const done = (result: string) => finish(result === 'done' ? { ok: true, output: `systemd: restart job of ${unit} done` } : failed(`${unit}: the restart job ended "${result}"${result === 'failed' ? ' (see journalctl -u ' + unit + ')' : ''}`));
          const early = b.ended.get(path);
          b.ended.delete(path);
          if (early !== undefined) done(early);
          else b.jobs.set(path, done);
        },
        (err: unknown) => finish(failed(explain(err as Error, unit))),
      );
    });
  }

  /** The unit's state (and have its changes reported from now on). */
  async unitState(svc: ResolvedService, unit: string): Promise<UnitState> {
    const b = await this.bus(svc);
    const path = (await (b.manager.LoadUnit as (u: string) => Promise<string>)(unit)) as string;
    this.watch(svc, b, unit, path);
    const obj = await b.bus.getProxyObject(SYSTEMD, path);
    const props = obj.getInterface(PROPS);
    const get = async (iface: string, name: string) => ((await (props.Get as (i: string, n: string) => Promise<dbus.Variant>)(iface, name)) as dbus.Variant).value as string;
    const [loadState, activeState, subState] = await Promise.all([get(UNIT, 'LoadState'), get(UNIT, 'ActiveState'), get(UNIT, 'SubState')]);
    const result = unit.endsWith('.service') && loadState === 'loaded' ? await get(SERVICE, 'Result').catch(() => '') : '';
    // A job in progress says what is happening: stop (on purpose) or start/restart (coming back).
    const job = ((await (props.Get as (i: string, n: string) => Promise<dbus.Variant>)(UNIT, 'Job')) as dbus.Variant).value as [number, string];
    let jobType = '';
    if (Array.isArray(job) && job[0] !== 0) {
      const jobProps = (await b.bus.getProxyObject(SYSTEMD, job[1])).getInterface(PROPS);
      jobType = await (jobProps.Get as (i: string, n: string) => Promise<dbus.Variant>)('org.freedesktop.systemd1.Job', 'JobType').then((v) => v.value as string, () => '');
    }
    return { loadState, activeState, subState, result, jobType };
  }

  /**
   * Would systemd let this process manage the unit? (What `warden doctor` checks for a non-root
   * Warden.) polkit answers CheckAuthorization with details only to trusted callers, so this asks
   * systemd for a no-op instead: StartUnit on a running unit, StopUnit on a stopped one (mode
   * "fail": never replacing a job). Accepted means allowed; AccessDenied means not.
   */
  async mayManage(svc: ResolvedService): Promise<boolean> {
    const state = await this.unitState(svc, svc.unit);
    const b = await this.bus(svc);
    const running = state.activeState === 'active' || state.activeState === 'reloading' || state.activeState === 'activating';
    try {
      await (b.manager[running ? 'StartUnit' : 'StopUnit'] as (u: string, m: string) => Promise<string>)(svc.unit, 'fail');
      return true;
    } catch (err) {
      const type = (err as { type?: string }).type ?? '';
      if (type === 'org.freedesktop.DBus.Error.AccessDenied' || type === 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired') return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.watched.values()) off();
    this.watched.clear();
    const buses = [...this.buses.values()];
    this.buses.clear();
    for (const p of buses) {
      const b = await p.catch(() => null);
      b?.bus.disconnect();
    }
  }

  /** The unit must exist: LoadUnit answers even for a missing one (LoadState not-found). */
  private async requireUnit(b: Bus, unit: string): Promise<void> {
    const path = await (b.manager.LoadUnit as (u: string) => Promise<string>)(unit);
    const obj = await b.bus.getProxyObject(SYSTEMD, path);
    const load = ((await (obj.getInterface(PROPS).Get as (i: string, n: string) => Promise<dbus.Variant>)(UNIT, 'LoadState')) as dbus.Variant).value as string;
    if (load === 'not-found') throw Object.assign(new Error(`unit ${unit} not found`), { type: 'org.freedesktop.systemd1.NoSuchUnit' });
  }

  /** Report the unit's ActiveState/SubState changes (crash detection without waiting for a probe). */
  private watch(svc: ResolvedService, b: Bus, unit: string, knownPath?: string): void {
    const key = `${svc.bus}:${unit}`;
    if (this.watched.has(key) || !this.opts.onUnitChange) return;
    this.watched.set(key, () => undefined); // claimed; the listener is attached below
    void (async () => {
      const path = knownPath ?? (await (b.manager.LoadUnit as (u: string) => Promise<string>)(unit));
      const props = (await b.bus.getProxyObject(SYSTEMD, path)).getInterface(PROPS);
      const listener = (iface: string, changed: Record<string, unknown>) => {
        if (iface === UNIT && ('ActiveState' in changed || 'SubState' in changed)) this.opts.onUnitChange?.(unit);
      };
      if (this.closed) return;
      props.on('PropertiesChanged', listener);
      this.watched.set(key, () => props.off('PropertiesChanged', listener));
    })().catch((err: unknown) => {
      this.watched.delete(key);
      this.opts.logger.warn({ err, unit }, 'cannot watch the unit: its changes are seen at the next probe');
    });
  }

  private bus(svc: ResolvedService): Promise<Bus> {
    const which = svc.bus;
    let p = this.buses.get(which);
    if (!p) {
      p = this.connect(which);
      this.buses.set(which, p);
      // A bus that could not be reached is tried again next time (the daemon may come up).
      p.catch(() => this.buses.delete(which));
    }
    return p;
  }

  private async connect(which: 'system' | 'user'): Promise<Bus> {
    const address = which === 'system' ? this.opts.systemBusAddress : this.opts.userBusAddress;
    // An explicit address is just a bus to connect to (dbus-next's systemBus() only reads the environment).
    const { sessionBus, systemBus } = load.dbus();
    const bus = address ? sessionBus({ busAddress: address }) : which === 'system' ? systemBus() : sessionBus();
    const jobs = new Map<string, (result: string) => void>();
    const ended = new Map<string, string>();
    // Before anything else: a socket that refuses us emits 'error', which unheard would end the process.
    bus.on('error', (err: unknown) => this.opts.logger.warn({ err, bus: which }, 'D-Bus connection error'));
    // The bus went away (dbus restarted): forget this connection, fail what waits on it, and
    // connect afresh at the next use (dbus-next itself neither says so nor fails pending calls).
    const lost = () => {
      const cached = this.buses.get(which);
      void cached?.then(
        (b) => b.bus === bus && this.buses.get(which) === cached && this.buses.delete(which),
        () => undefined,
      );
      for (const waiter of jobs.values()) waiter('bus connection lost');
      jobs.clear();
      for (const key of [...this.watched.keys()].filter((k) => k.startsWith(`${which}:`))) this.watched.delete(key);
    };
    const connection = (bus as unknown as { _connection?: NodeJS.EventEmitter })._connection;
    connection?.once('end', lost);
    connection?.once('close', lost);
    try {
      const obj = await withTimeout(bus.getProxyObject(SYSTEMD, MANAGER_PATH), 10_000, `the ${which} bus did not answer`);
      const manager = obj.getInterface(MANAGER);
      // JobRemoved reaches only subscribed clients.
      await (manager.Subscribe as () => Promise<void>)();
      manager.on('JobRemoved', (_id: number, job: string, _unit: string, result: string) => {
        const waiter = jobs.get(job);
        if (waiter) return waiter(result);
        // Kept briefly for a RestartUnit whose reply is still on its way; other clients' jobs fall out.
        ended.set(job, result);
        if (ended.size > 100) ended.delete(ended.keys().next().value!);
      });
      return { bus, manager, jobs, ended };
    } catch (err) {
      bus.disconnect();
      throw err;
    }
  }
}

/** The unit a systemd-strategy service is: `unit`, else `<name>.service`. */
export function unitOf(svc: ResolvedService): string {
  return svc.unit;
}

/** `systemd://unit` health: active is up, activating/reloading is loading, anything else down. */
export function judgeUnit(s: UnitState, unit: string): Omit<ProbeResult, 'latencyMs'> {
  if (s.loadState === 'not-found') return { state: 'down', reason: `unit ${unit} not found` };
  // Being stopped on purpose (a slow stop: Redis saving its dataset), or restarted by someone.
  if (s.jobType === 'stop') return { state: 'down', reason: `${s.activeState} (${s.subState}): being stopped with systemctl stop`, stoppedOnPurpose: true };
  if (s.jobType && /start|restart|reload/.test(s.jobType) && s.activeState !== 'active') return { state: 'loading', reason: `${s.activeState} (${s.subState}): a ${s.jobType} job is running` };
  if (s.activeState === 'active' || s.activeState === 'reloading') return { state: 'up', reason: `${s.activeState} (${s.subState})` };
  if (s.activeState === 'activating') return { state: 'loading', reason: `activating (${s.subState})` };
  const reason = `${s.activeState} (${s.subState}${s.result && s.result !== 'success' ? `, result ${s.result}` : ''})`;
  return stoppedOnPurpose(s) ? { state: 'down', reason: `${reason}: stopped with systemctl stop`, stoppedOnPurpose: true } : { state: 'down', reason };
}

/** Inactive with Result success: someone ran `systemctl stop` (a crash leaves failed, or a Result of signal/exit-code). */
export function stoppedOnPurpose(s: UnitState): boolean {
  if (s.jobType === 'stop') return true;
  return s.loadState === 'loaded' && s.activeState === 'inactive' && !s.jobType && (s.result === 'success' || s.result === '');
}

/** A D-Bus error in words, with what to do (CONTRACT §13): unit not found, access denied, bus not reachable. */
export function explain(err: Error & { type?: string; code?: string }, unit: string): string {
  const type = err.type ?? '';
  if (type === 'org.freedesktop.systemd1.NoSuchUnit' || /not found|not loaded/i.test(err.message) && type.startsWith('org.freedesktop.systemd1')) return `systemd unit ${unit} not found (systemctl list-unit-files ${unit})`;
  if (type === 'org.freedesktop.DBus.Error.AccessDenied' || type === 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired') {
    return `systemd: access denied to manage ${unit}: ${POLKIT_HINT}`;
  }
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || /did not answer|ENOENT|ECONNREFUSED|connect/i.test(err.message)) return `systemd D-Bus not reachable: ${err.message}`;
  return `systemd: ${err.message}`;
}

function failed(reason: string): Extract<RestartResult, { ok: false }> {
  return { ok: false, reason, output: '', exitCode: null, signal: null, timedOut: false };
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e as Error)),
    );
  });
}
