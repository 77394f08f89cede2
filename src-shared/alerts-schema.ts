import { z } from 'zod';

/**
 * Alert channels (CONTRACT §15): where an alert goes besides the tray. Browser-safe: the settings
 * page edits these. Secrets are kept in files (`…File`) or masked as "***" by GET /api/settings.
 */
export const SEVERITIES = ['warning', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

const severity = z.enum(SEVERITIES, { error: 'must be "warning" or "error"' });
const httpUrl = (what: string) =>
  z
    .string({ error: `must be ${what}` })
    .refine((u) => /^https?:\/\/[^/\s]+/i.test(u) && URL.canParse(u), { error: `must be ${what}` });
const file = z.string().min(1, { error: 'must be a file path' });
const name = z.string().min(1, { error: 'must not be empty' }).max(40, { error: 'must be at most 40 characters' });

const NTFY_PRIORITIES = ['min', 'low', 'default', 'high', 'urgent'] as const;

export const channelSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('webhook'),
      name: name.optional(),
      url: httpUrl('an http(s) URL'),
      headers: z.record(z.string(), z.string({ error: 'must be text' }), { error: 'must be an object of header names and values' }).optional(),
      /** HMAC-SHA256 of the body in X-Warden-Signature (GitHub's scheme): inline, or from a file. */
      secret: z.string().min(1).optional(),
      secretFile: file.optional(),
      minSeverity: severity.optional(),
    }),
    z.strictObject({
      type: z.literal('ntfy'),
      name: name.optional(),
      /** The topic's URL: https://ntfy.sh/mytopic, or a self-hosted server's. */
      url: httpUrl('the topic URL, such as "https://ntfy.sh/warden-home"').refine((u) => !URL.canParse(u) || new URL(u).pathname.replace(/\/+$/, '').split('/').pop() !== '', { error: 'must end in a topic: "https://ntfy.sh/warden-home"' }),
      token: z.string().min(1).optional(),
      tokenFile: file.optional(),
      /** Overrides the priority by severity (error: high, warning: default). */
      priority: z.enum(NTFY_PRIORITIES, { error: 'must be min, low, default, high or urgent' }).optional(),
      minSeverity: severity.optional(),
    }),
    z.strictObject({
      type: z.literal('smtp'),
      name: name.optional(),
      host: z.string({ error: 'is required (the SMTP server)' }).min(1),
      port: z.number({ error: 'must be a port number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be 1–65535' }).max(65535, { error: 'must be 1–65535' }).optional(),
      /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
      secure: z.boolean({ error: 'must be true or false' }).optional(),
      user: z.string().min(1).optional(),
      passwordFile: file.optional(),
      from: z.string({ error: 'is required (the sender address)' }).min(3),
      to: z.union([z.string().min(3), z.array(z.string().min(3)).min(1, { error: 'must list at least one address' })], { error: 'must be an address or a list of addresses' }),
      minSeverity: severity.optional(),
    }),
    z.strictObject({
      type: z.literal('apprise'),
      name: name.optional(),
      /** Apprise URLs (tgram://…, discord://…, json://…): see Apprise's wiki. They hold secrets: masked by the API. */
      urls: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/./i, { error: 'must be an Apprise URL such as "tgram://token/chat"' }), { error: 'must be a list of Apprise URLs' }).min(1, { error: 'must list at least one URL' }),
      minSeverity: severity.optional(),
    }),
  ],
  { error: 'must be a channel: {"type": "webhook" | "ntfy" | "smtp" | "apprise", …}' },
);

export type ChannelConfig = z.output<typeof channelSchema>;

export const alertsSchema = z
  .strictObject(
    {
      channels: z.array(channelSchema, { error: 'must be a list of channels' }).default([]),
      /** "warning": every alert; "error": only failures (and their recovery). */
      minSeverity: severity.default('warning'),
      /** Seconds between reminders while a service stays failed; 0: none. */
      repeatAfter: z.number({ error: 'must be a number of seconds' }).nonnegative({ error: 'must be 0 or more (seconds)' }).default(0),
      /** The dashboard's address for click-through (default: this machine's server). */
      dashboardUrl: httpUrl('an http(s) URL').optional(),
    },
    { error: 'must be an object: {"channels": [...], "minSeverity": "warning"}' },
  )
  .superRefine((a, ctx) => {
    a.channels.forEach((c, i) => {
      if (c.type === 'webhook' && c.secret && c.secretFile) ctx.addIssue({ code: 'custom', path: ['channels', i, 'secretFile'], message: 'use secret or secretFile, not both' });
      if (c.type === 'ntfy' && c.token && c.tokenFile) ctx.addIssue({ code: 'custom', path: ['channels', i, 'tokenFile'], message: 'use token or tokenFile, not both' });
      if (c.type === 'smtp' && c.passwordFile && !c.user) ctx.addIssue({ code: 'custom', path: ['channels', i, 'user'], message: 'is required with passwordFile' });
    });
    // Unnamed channels are told apart by where they deliver: two that deliver to the same place need names.
    const targets = new Map<string, number>();
    a.channels.forEach((c, i) => {
      if (c.name !== undefined) return;
      const where = `${c.type} ${c.type === 'apprise' ? c.urls.join(' ') : c.type === 'smtp' ? `${c.host}:${c.port ?? ''} ${[c.to].flat().join(',')}` : c.url}`;
      const first = targets.get(where);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `delivers where channels[${first}] does: give one of them a name` });
      else targets.set(where, i);
    });
    const names = new Map<string, number>();
    a.channels.forEach((c, i) => {
      if (c.name === undefined) return;
      const first = names.get(c.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `duplicate name "${c.name}" (also channels[${first}])` });
      else names.set(c.name, i);
    });
  });

export type AlertsConfig = z.output<typeof alertsSchema>;
export const DEFAULT_ALERTS: AlertsConfig = { channels: [], minSeverity: 'warning', repeatAfter: 0 };
