import { readFile } from 'node:fs/promises';
import dbus from 'dbus-next';
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
}

/** One bus (system or user) and the Manager proxy on it, connected on first use. */
interface Bus {
  bus: dbus.MessageBus;
  manager: dbus.ClientInterface;
  /** Job path → its waiter (JobRemoved). */
  jobs: Map<string, (result: string) => void>;
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
      const state = await this.unitState(svc, target.unit).catch((err: unknown) => err as Error);
      if (state instanceof Error) return { state: 'down', reason: explain(state, target.unit), latencyMs: latency() };
      return { ...judgeUnit(state, target.unit), latencyMs: latency() };
    }
    // Its unit's changes are reported from the first look on (a crash seen at once, §13).
    if (!this.watched.has(`${svc.bus}:${unitOf(svc)}`)) void this.unitState(svc, unitOf(svc)).catch(() => undefined);
    const result = await this.opts.probes.get(svc).check(signal);
    if (result.state === 'up') return result;
    // Down to its URL: a unit someone stopped on purpose is paused, not restarted (§9.6).
    const state = await this.unitState(svc, unitOf(svc)).catch(() => null);
    return state && stoppedOnPurpose(state) ? { ...result, reason: `${unitOf(svc)} was stopped (systemctl stop): ${result.reason}`, stoppedOnPurpose: true } : result;
  }

  async restart(svc: ResolvedService, signal?: AbortSignal): Promise<RestartResult> {
    const unit = unitOf(svc);
    let b: Bus;
    try {
      b = await this.bus(svc);
      await this.requireUnit(b, unit);
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
          b.jobs.set(path, (result) => finish(result === 'done' ? { ok: true, output: `systemd: restart job of ${unit} done` } : failed(`${unit}: the restart job ended "${result}"${result === 'failed' ? ' (see journalctl -u ' + unit + ')' : ''}`)));
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
    return { loadState, activeState, subState, result };
  }

  /**
   * Would polkit let this process manage the unit without asking for a password? (What `warden
   * doctor` checks for a non-root Warden: org.freedesktop.systemd1.manage-units for the unit.)
   */
  async mayManage(unit: string): Promise<boolean> {
    const b = await this.connect('system');
    try {
      const obj = await b.bus.getProxyObject('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority');
      const authority = obj.getInterface('org.freedesktop.PolicyKit1.Authority');
      const stat = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1]!.split(' ');
      const subject = ['unix-process', { pid: new dbus.Variant('u', process.pid), 'start-time': new dbus.Variant('t', BigInt(stat[19]!)) }];
      const details = { unit };
      const [authorized] = (await (authority.CheckAuthorization as (...a: unknown[]) => Promise<[boolean, boolean, unknown]>)(subject, 'org.freedesktop.systemd1.manage-units', details, 0, '')) as [boolean, boolean, unknown];
      return authorized;
    } finally {
      b.bus.disconnect();
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
    const bus = address ? dbus.sessionBus({ busAddress: address }) : which === 'system' ? dbus.systemBus() : dbus.sessionBus();
    const jobs = new Map<string, (result: string) => void>();
    // Before anything else: a socket that refuses us emits 'error', which unheard would end the process.
    bus.on('error', (err: unknown) => this.opts.logger.warn({ err, bus: which }, 'D-Bus connection error'));
    try {
      const obj = await withTimeout(bus.getProxyObject(SYSTEMD, MANAGER_PATH), 10_000, `the ${which} bus did not answer`);
      const manager = obj.getInterface(MANAGER);
      // JobRemoved reaches only subscribed clients.
      await (manager.Subscribe as () => Promise<void>)();
      manager.on('JobRemoved', (_id: number, job: string, _unit: string, result: string) => jobs.get(job)?.(result));
      return { bus, manager, jobs };
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
  if (s.activeState === 'active' || s.activeState === 'reloading') return { state: 'up', reason: `${s.activeState} (${s.subState})` };
  if (s.activeState === 'activating') return { state: 'loading', reason: `activating (${s.subState})` };
  const reason = `${s.activeState} (${s.subState}${s.result && s.result !== 'success' ? `, result ${s.result}` : ''})`;
  return stoppedOnPurpose(s) ? { state: 'down', reason: `${reason}: stopped with systemctl stop`, stoppedOnPurpose: true } : { state: 'down', reason };
}

/** Inactive with Result success: someone ran `systemctl stop` (a crash leaves failed, or a Result of signal/exit-code). */
export function stoppedOnPurpose(s: UnitState): boolean {
  return s.loadState === 'loaded' && s.activeState === 'inactive' && (s.result === 'success' || s.result === '');
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
