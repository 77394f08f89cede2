import { TIMING_KEYS, type TimingKey } from '../../../src-shared/timing-keys.js';
import { alertsFieldPaths, fromAlertsDraft, toAlertsDraft, type AlertsDraft } from './alerts-form.js';

/** One service as the form edits it: every field a string (what the user typed) or a flag. */
export interface ServiceDraft {
  /** Stable React key across adds and removes. */
  key: number;
  name: string;
  healthUrl: string;
  restartCmd: string;
  /** Explicit "monitor only": restartCmd is sent as null whatever the text field holds. */
  monitorOnly: boolean;
  /** Run before the restart command on a manual restart ('' = none). */
  stopCmd: string;
  container: string;
  /** '' = the global strategy. */
  strategy: string;
  /** systemd: the unit ('' = <name>.service). */
  unit: string;
  pidfile: string;
  restartWhenStopped: boolean;
  /** Per-service overrides; '' = use the global value. */
  timings: Record<TimingKey, string>;
  /** Fields this form does not know, passed back untouched. */
  extra: Record<string, unknown>;
}

/** The whole settings form. */
export interface SettingsDraft {
  serviceManagerType: string;
  timings: Record<TimingKey, string>;
  workingDir: string;
  dockerStopTimeout: string;
  notifications: boolean;
  host: string;
  port: string;
  services: ServiceDraft[];
  alerts: AlertsDraft;
  extra: Record<string, unknown>;
}

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

const GLOBAL_KNOWN = new Set<string>(['serviceManagerType', ...TIMING_KEYS, 'workingDir', 'dockerStopTimeout', 'notifications', 'server', 'services', 'alerts']);
const SERVICE_KNOWN = new Set<string>(['name', 'healthUrl', 'restartCmd', 'stopCmd', 'container', 'strategy', 'unit', 'pidfile', 'restartWhenStopped', ...TIMING_KEYS]);

function rest(obj: Loose, known: Set<string>): Loose {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !known.has(k)));
}

function timingsOf(obj: Loose): Record<TimingKey, string> {
  return Object.fromEntries(TIMING_KEYS.map((k) => [k, text(obj[k])])) as Record<TimingKey, string>;
}

let nextKey = 1;

/** A blank service for "Add service". */
export function newServiceDraft(): ServiceDraft {
  return serviceDraft({ name: '', healthUrl: '', restartCmd: null });
}

function serviceDraft(raw: unknown): ServiceDraft {
  const s = isObject(raw) ? raw : {};
  return {
    key: nextKey++,
    name: text(s.name),
    healthUrl: text(s.healthUrl),
    restartCmd: text(s.restartCmd),
    monitorOnly: s.restartCmd === null,
    stopCmd: text(s.stopCmd),
    container: text(s.container),
    strategy: text(s.strategy),
    unit: text(s.unit),
    pidfile: text(s.pidfile),
    restartWhenStopped: s.restartWhenStopped === true,
    timings: timingsOf(s),
    extra: rest(s, SERVICE_KNOWN),
  };
}

/** The form's starting point from GET /api/settings. */
export function toDraft(config: unknown, channelIds: (string | undefined)[] = []): SettingsDraft {
  const c = isObject(config) ? config : {};
  const server = isObject(c.server) ? c.server : {};
  return {
    serviceManagerType: text(c.serviceManagerType) || 'shell',
    timings: timingsOf(c),
    workingDir: text(c.workingDir),
    dockerStopTimeout: text(c.dockerStopTimeout),
    notifications: c.notifications !== false,
    host: text(server.host),
    port: text(server.port),
    services: Array.isArray(c.services) ? c.services.map(serviceDraft) : [],
    alerts: toAlertsDraft(c.alerts, channelIds),
    extra: rest(c, GLOBAL_KNOWN),
  };
}

/**
 * A typed number when the text is one; otherwise the text itself, so the server's validation
 * names the field ("must be a number of seconds") instead of the form guessing.
 */
export function numberOrText(value: string): number | string {
  const t = value.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : value;
}

/** The config to PUT: empty optional fields are left out, an empty restart command is null. */
export function fromDraft(d: SettingsDraft): Record<string, unknown> {
  const out: Loose = { ...d.extra, serviceManagerType: d.serviceManagerType };
  for (const k of TIMING_KEYS) out[k] = numberOrText(d.timings[k]);
  out.workingDir = d.workingDir.trim() === '' ? null : d.workingDir;
  out.dockerStopTimeout = numberOrText(d.dockerStopTimeout);
  out.notifications = d.notifications;
  out.server = { host: d.host, port: numberOrText(d.port) };
  out.services = d.services.map((s) => {
    const svc: Loose = { ...s.extra, name: s.name, healthUrl: s.healthUrl };
    svc.restartCmd = s.monitorOnly || s.restartCmd.trim() === '' ? null : s.restartCmd;
    if (s.stopCmd.trim() !== '') svc.stopCmd = s.stopCmd;
    if (s.container.trim() !== '') svc.container = s.container;
    if (s.strategy !== '') svc.strategy = s.strategy;
    if (s.unit.trim() !== '') svc.unit = s.unit.trim();
    if (s.pidfile.trim() !== '') svc.pidfile = s.pidfile;
    if (s.restartWhenStopped) svc.restartWhenStopped = true;
    for (const k of TIMING_KEYS) if (s.timings[k].trim() !== '') svc[k] = numberOrText(s.timings[k]);
    return svc;
  });
  out.alerts = fromAlertsDraft(d.alerts);
  return out;
}

/** A DOM id for a config path such as `services[1].healthUrl`. */
export function fieldId(path: string): string {
  return `field-${path.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '')}`;
}

/** Every path the form has an input for (issues at other paths are listed on top instead). */
export function fieldPaths(d: SettingsDraft): Set<string> {
  const paths = new Set<string>(['serviceManagerType', ...TIMING_KEYS, 'workingDir', 'dockerStopTimeout', 'notifications', 'server.host', 'server.port']);
  d.services.forEach((_s, i) => {
    for (const f of ['name', 'healthUrl', 'restartCmd', 'stopCmd', 'container', 'strategy', 'unit', 'pidfile', 'restartWhenStopped', ...TIMING_KEYS]) paths.add(`services[${i}].${f}`);
  });
  for (const p of alertsFieldPaths(d.alerts)) paths.add(p);
  return paths;
}

/** One validation problem from the server. */
export interface Issue {
  path: string;
  message: string;
}

/** Group issues by path (one field may have several). */
export function issuesByPath(issues: Issue[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const i of issues) map.set(i.path, [...(map.get(i.path) ?? []), i.message]);
  return map;
}
