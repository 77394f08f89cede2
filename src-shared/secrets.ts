/**
 * Secrets in the settings (CONTRACT §15): GET /api/settings shows them as "***", and a PUT that
 * sends "***" back keeps the stored value — so the settings page can save everything else without
 * ever holding a token. Browser-safe. What counts as a secret: a webhook's `secret` and header
 * values, an ntfy `token`, Apprise URLs (all but the scheme), and deep-check header values.
 */
export const MASK = '***';

/** "tgram://***": the scheme says which service; the rest is the secret. */
export function maskUrl(url: string): string {
  const i = url.indexOf('://');
  return i < 0 ? MASK : `${url.slice(0, i)}://${MASK}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const maskValues = (h: unknown) => (isObj(h) ? Object.fromEntries(Object.keys(h).map((k) => [k, MASK])) : h);

/** A copy of the settings with every secret replaced by "***". */
export function maskSecrets<T>(settings: T): T {
  const out = structuredClone(settings) as unknown;
  if (!isObj(out)) return out as T;
  const alerts = out.alerts;
  if (isObj(alerts) && Array.isArray(alerts.channels)) {
    for (const c of alerts.channels as unknown[]) {
      if (!isObj(c)) continue;
      if (typeof c.secret === 'string') c.secret = MASK;
      if (typeof c.token === 'string') c.token = MASK;
      if (c.headers !== undefined) c.headers = maskValues(c.headers);
      if (Array.isArray(c.urls)) c.urls = c.urls.map((u) => (typeof u === 'string' ? maskUrl(u) : u));
    }
  }
  if (Array.isArray(out.services)) {
    for (const s of out.services as unknown[]) {
      if (isObj(s) && isObj(s.deepCheck) && s.deepCheck.headers !== undefined) s.deepCheck.headers = maskValues(s.deepCheck.headers);
    }
  }
  return out as T;
}

/** A "***" that has no stored value to stand for. */
export interface SecretIssue {
  path: string;
  message: string;
}

/**
 * The incoming settings (raw JSON) with each "***" replaced by the stored value it stands for:
 * a channel's by the stored channel of that type with the same URL (else the same position); a
 * deep check's by the stored service of that name. Nothing else is touched.
 */
export function restoreSecrets(incoming: unknown, stored: unknown): { ok: true; value: unknown } | { ok: false; issues: SecretIssue[] } {
  const value = structuredClone(incoming);
  const issues: SecretIssue[] = [];
  if (!isObj(value) || !isObj(stored)) return { ok: true, value };
  const storedAll = isObj(stored.alerts) && Array.isArray(stored.alerts.channels) ? (stored.alerts.channels as unknown[]) : [];
  if (isObj(value.alerts) && Array.isArray(value.alerts.channels)) {
    const used = new Set<number>();
    const incomingChannels = value.alerts.channels as unknown[];
    incomingChannels.forEach((c, i) => {
      if (!isObj(c) || !hasMask(c)) return;
      const at = `alerts.channels[${i}]`;
      const k = matchChannel(c, i, storedAll, used, incomingChannels.length === storedAll.length);
      if (k === 'ambiguous') {
        issues.push({ path: at, message: 'its "***" could stand for more than one stored channel: enter the secret again' });
        return;
      }
      const match = k === null ? undefined : (storedAll[k] as Obj);
      if (k !== null) used.add(k);
      for (const key of ['secret', 'token'] as const) {
        if (c[key] !== MASK) continue;
        if (match && typeof match[key] === 'string') c[key] = match[key];
        else issues.push({ path: `${at}.${key}`, message: 'is "***" but there is no stored value to keep: enter it again' });
      }
      restoreHeaders(c, match, `${at}.headers`, issues);
      if (Array.isArray(c.urls)) restoreUrls(c, match, at, issues);
    });
  }
  if (Array.isArray(value.services)) {
    const storedServices = Array.isArray(stored.services) ? (stored.services as unknown[]).filter(isObj) : [];
    (value.services as unknown[]).forEach((s, i) => {
      if (!isObj(s) || !isObj(s.deepCheck)) return;
      const prior = storedServices.find((o) => o.name === s.name);
      restoreHeaders(s.deepCheck, prior && isObj(prior.deepCheck) ? prior.deepCheck : undefined, `services[${i}].deepCheck.headers`, issues);
    });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value };
}

/** Does this channel send any "***" back? */
function hasMask(c: Obj): boolean {
  return c.secret === MASK || c.token === MASK || (isObj(c.headers) && Object.values(c.headers).includes(MASK)) || (Array.isArray(c.urls) && c.urls.some((u) => typeof u === 'string' && isMaskedUrl(u)));
}

const isMaskedUrl = (u: string) => u === MASK || u.endsWith(`://${MASK}`);

/** What identifies a channel as the form shows it: its type and where it delivers (Apprise: its masked URLs). */
function identity(c: Obj): string {
  const urls = Array.isArray(c.urls) ? c.urls.map((u) => (typeof u === 'string' ? maskUrl(u) : '')).join(' ') : '';
  return `${String(c.type)} ${String(c.url ?? '')} ${String(c.name ?? '')} ${urls}`;
}

/**
 * The stored channel an incoming one with "***" stands for, each stored channel used once: the
 * one at the same position if it is the same channel and none was added or removed, else the only
 * unused one that is; when several could be, none (the secret must be entered again).
 */
function matchChannel(c: Obj, i: number, stored: unknown[], used: Set<number>, sameLength: boolean): number | null | 'ambiguous' {
  const same = (k: number) => isObj(stored[k]) && (stored[k] as Obj).type === c.type && (c.url === undefined || (stored[k] as Obj).url === c.url) && (c.name === undefined || (stored[k] as Obj).name === c.name);
  // Its place counts only while no channel was added or removed.
  if (sameLength && !used.has(i) && same(i) && identity(stored[i] as Obj) === identity(c)) return i;
  const candidates = stored.map((_s, k) => k).filter((k) => !used.has(k) && same(k) && identity(stored[k] as Obj) === identity(c));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) return 'ambiguous';
  // The same channel with other URLs (lines removed or added): by type, URL and name alone.
  const loose = stored.map((_s, k) => k).filter((k) => !used.has(k) && same(k));
  if (loose.length === 1) return loose[0]!;
  return loose.length > 1 ? 'ambiguous' : null;
}

/** Apprise URLs "scheme://***": the stored URL at the same place if the list kept its shape, else the only one it can be. */
function restoreUrls(c: Obj, match: Obj | undefined, at: string, issues: SecretIssue[]): void {
  const old = match && Array.isArray(match.urls) ? (match.urls as unknown[]).filter((u): u is string => typeof u === 'string') : [];
  const urls = c.urls as unknown[];
  const sameShape = old.length === urls.length;
  const taken = new Set<number>();
  c.urls = urls.map((u, j) => {
    if (typeof u !== 'string' || !isMaskedUrl(u)) return u;
    if (sameShape && maskUrl(old[j]!) === u && !taken.has(j)) {
      taken.add(j);
      return old[j];
    }
    const candidates = old.map((_o, k) => k).filter((k) => !taken.has(k) && maskUrl(old[k]!) === u);
    if (candidates.length === 1) {
      taken.add(candidates[0]!);
      return old[candidates[0]!];
    }
    issues.push({ path: `${at}.urls[${j}]`, message: candidates.length > 1 ? 'could stand for more than one stored URL: enter it again' : 'is masked but there is no stored URL to keep: enter it again' });
    return u;
  });
}

/** Header values "***" from the stored object's headers (names compared case-insensitively). */
function restoreHeaders(target: Obj, stored: Obj | undefined, at: string, issues: SecretIssue[]): void {
  if (!isObj(target.headers)) return;
  const old = stored && isObj(stored.headers) ? stored.headers : {};
  for (const [name, v] of Object.entries(target.headers)) {
    if (v !== MASK) continue;
    const prior = Object.entries(old).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    if (typeof prior === 'string') target.headers[name] = prior;
    else issues.push({ path: `${at}.${name}`, message: 'is "***" but there is no stored value to keep: enter it again' });
  }
}
