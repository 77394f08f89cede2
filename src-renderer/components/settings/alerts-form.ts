/**
 * The alerts part of the settings form (CONTRACT §15): channels as the form edits them, every
 * field a string, secrets as the server masks them ("***" keeps the stored value on save).
 */
export const CHANNEL_TYPES = ['ntfy', 'webhook', 'smtp', 'apprise'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** The text fields each type has, in the order the form shows them. */
export const CHANNEL_FIELDS: Record<ChannelType, readonly string[]> = {
  ntfy: ['url', 'token', 'tokenFile', 'priority'],
  webhook: ['url', 'secret', 'secretFile'],
  smtp: ['host', 'port', 'user', 'passwordFile', 'from', 'to'],
  apprise: ['urls'],
};

/** Fields shown as password inputs. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['token', 'secret']);

export interface ChannelDraft {
  key: number;
  type: ChannelType;
  name: string;
  minSeverity: string;
  /** smtp: TLS from the start. */
  secure: boolean;
  fields: Record<string, string>;
  /** What the form does not edit (webhook headers …), passed back untouched. */
  extra: Record<string, unknown>;
  /** The id GET /api/alerts gave it when the form was filled; null once edited or when new (save first to test). */
  savedId: string | null;
}

export interface AlertsDraft {
  minSeverity: string;
  repeatAfter: string;
  dashboardUrl: string;
  channels: ChannelDraft[];
  extra: Record<string, unknown>;
}

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
let nextKey = 1;

const KNOWN_CHANNEL = new Set(['type', 'name', 'minSeverity', 'secure', ...Object.values(CHANNEL_FIELDS).flat()]);

function channelDraft(raw: unknown, savedId: string | null): ChannelDraft {
  const c = isObject(raw) ? raw : {};
  const type = (CHANNEL_TYPES as readonly unknown[]).includes(c.type) ? (c.type as ChannelType) : 'webhook';
  const fields: Record<string, string> = {};
  for (const f of CHANNEL_FIELDS[type]) {
    const v = c[f];
    fields[f] = Array.isArray(v) ? v.map(text).join(f === 'urls' ? '\n' : ', ') : text(v);
  }
  const extra = Object.fromEntries(Object.entries(c).filter(([k]) => !KNOWN_CHANNEL.has(k)));
  return { key: nextKey++, type, name: text(c.name), minSeverity: text(c.minSeverity), secure: c.secure === true, fields, extra, savedId };
}

/** A blank channel for "Add channel". */
export function newChannelDraft(type: ChannelType): ChannelDraft {
  return channelDraft({ type }, null);
}

/** The alerts draft from GET /api/settings' `alerts`, with the ids GET /api/alerts gave (same order). */
export function toAlertsDraft(raw: unknown, ids: (string | undefined)[] = []): AlertsDraft {
  const a = isObject(raw) ? raw : {};
  const channels = Array.isArray(a.channels) ? a.channels : [];
  return {
    minSeverity: text(a.minSeverity) || 'warning',
    repeatAfter: text(a.repeatAfter ?? 0),
    dashboardUrl: text(a.dashboardUrl),
    channels: channels.map((c, i) => channelDraft(c, ids[i] ?? null)),
    extra: Object.fromEntries(Object.entries(a).filter(([k]) => !['minSeverity', 'repeatAfter', 'dashboardUrl', 'channels'].includes(k))),
  };
}

function numberOrText(value: string): number | string {
  const t = value.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : value;
}

/** The `alerts` object to PUT: empty fields left out, lists split, numbers typed. */
export function fromAlertsDraft(d: AlertsDraft): Loose {
  const out: Loose = { ...d.extra, minSeverity: d.minSeverity, repeatAfter: numberOrText(d.repeatAfter) };
  if (d.dashboardUrl.trim() !== '') out.dashboardUrl = d.dashboardUrl.trim();
  out.channels = d.channels.map((c) => {
    const ch: Loose = { ...c.extra, type: c.type };
    if (c.name.trim() !== '') ch.name = c.name.trim();
    if (c.minSeverity !== '') ch.minSeverity = c.minSeverity;
    for (const f of CHANNEL_FIELDS[c.type]) {
      const v = (c.fields[f] ?? '').trim();
      if (v === '') continue;
      if (f === 'port') ch.port = numberOrText(v);
      else if (f === 'urls') ch.urls = v.split('\n').map((u) => u.trim()).filter(Boolean);
      else if (f === 'to') ch.to = v.includes(',') ? v.split(',').map((x) => x.trim()).filter(Boolean) : v;
      else ch[f] = v;
    }
    if (c.type === 'smtp' && c.secure) ch.secure = true;
    return ch;
  });
  return out;
}

/** Every alerts path the form has an input for. */
export function alertsFieldPaths(d: AlertsDraft): string[] {
  const paths = ['alerts.minSeverity', 'alerts.repeatAfter', 'alerts.dashboardUrl'];
  d.channels.forEach((c, i) => {
    for (const f of ['name', 'minSeverity', 'secure', ...CHANNEL_FIELDS[c.type]]) paths.push(`alerts.channels[${i}].${f}`);
  });
  return paths;
}
