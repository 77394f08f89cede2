import { Cron } from 'croner';
import { z } from 'zod';
import { alertsSchema, DEFAULT_ALERTS } from './alerts-schema.js';
import { parseHealthUrl } from './health-url.js';
import { TIMING_KEYS, type TimingKey } from './timing-keys.js';

export { TIMING_KEYS, type TimingKey };

const seconds = (min: 'positive' | 'nonnegative') =>
  min === 'positive'
    ? z.number({ error: 'must be a number of seconds' }).positive({ error: 'must be greater than 0 (seconds)' })
    : z.number({ error: 'must be a number of seconds' }).nonnegative({ error: 'must be 0 or more (seconds)' });

const timingShape = {
  healthCheckInterval: seconds('positive'),
  serviceHealthTimeout: seconds('positive'),
  serviceMaxRetries: z.number({ error: 'must be a whole number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }).max(100, { error: 'must be at most 100' }),
  serviceBackoffBase: seconds('nonnegative'),
  restartTimeout: seconds('positive'),
  startupTimeout: seconds('positive'),
  resetAfter: seconds('nonnegative'),
  failedRetryInterval: seconds('nonnegative'),
};

export const SERVICE_NAME_RE = /^[a-z][a-z0-9_-]{0,31}$/;

/** Zod error text that tells a missing field from one of the wrong type. */
const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? `is required (${what})` : `must be ${what}`;

/** The presets of a deep check (CONTRACT §14): what llama.cpp and OpenAI-compatible servers answer. */
export const DEEP_CHECK_PRESETS = ['llama-completion', 'openai-chat'] as const;
export type DeepCheckPreset = (typeof DEEP_CHECK_PRESETS)[number];

/**
 * A deep check (CONTRACT §14): a real request that exercises the model, at a slow cadence and with
 * its own timeout — a preset, or a request of one's own (JSON or file body, headers, what to expect).
 */
export const deepCheckSchema = z
  .strictObject(
    {
      preset: z.enum(DEEP_CHECK_PRESETS, { error: 'must be "llama-completion" or "openai-chat"' }).optional(),
      /** An http(s) URL, or a path ("/completion") on the health URL's server. */
      url: z
        .string({ error: 'must be a URL or a path such as "/completion"' })
        .refine((u) => u.startsWith('/') || /^https?:\/\/[^/]/i.test(u), { error: 'must be an http(s) URL or a path starting with "/"' })
        .optional(),
      method: z.enum(['GET', 'POST'], { error: 'must be "GET" or "POST"' }).optional(),
      /** Sent as JSON. */
      body: z.json({ error: 'must be JSON' }).optional(),
      /** A file sent as the body: raw, or as a multipart upload in `field` (FastAPI's UploadFile). */
      file: z
        .strictObject(
          {
            path: z.string({ error: required('a file path') }).min(1, { error: 'must not be empty' }),
            field: z.string().min(1, { error: 'must not be empty (leave it out to send the file as the body)' }).optional(),
            type: z.string().min(1, { error: 'must be a media type such as "image/jpeg"' }).optional(),
          },
          { error: 'must be an object with path (and optional field and type)' },
        )
        .optional(),
      headers: z.record(z.string(), z.string({ error: 'must be text' }), { error: 'must be an object of header names and values' }).optional(),
      expect: z
        .strictObject(
          {
            status: z.number({ error: 'must be an HTTP status' }).int({ error: 'must be a whole number' }).min(100, { error: 'must be 100–599' }).max(599, { error: 'must be 100–599' }).optional(),
            /** A dot path into the JSON answer that must be there ("choices.0.message"). */
            json: z.string().min(1, { error: 'must be a dot path such as "choices.0.message"' }).optional(),
            nonEmpty: z.boolean({ error: 'must be true or false' }).optional(),
          },
          { error: 'must be an object (status, json, nonEmpty)' },
        )
        .optional(),
      /** openai-chat: the model name sent (vLLM and others want the served one). */
      model: z.string().min(1, { error: 'must not be empty' }).optional(),
      interval: seconds('positive').max(7 * 86400, { error: 'must be at most a week (604800 s)' }).default(300),
      timeout: seconds('positive').max(3600, { error: 'must be at most an hour (3600 s)' }).default(30),
    },
    { error: 'must be an object: {"preset": "llama-completion"} or {"url": …, "expect": …}' },
  )
  .superRefine((d, ctx) => {
    if (d.preset === undefined && d.url === undefined) ctx.addIssue({ code: 'custom', message: 'needs a preset ("llama-completion", "openai-chat") or a url', path: ['url'] });
    if (d.body !== undefined && d.file !== undefined) ctx.addIssue({ code: 'custom', message: 'use body or file, not both', path: ['file'] });
    if (d.method === 'GET' && (d.body !== undefined || d.file !== undefined || d.preset !== undefined)) ctx.addIssue({ code: 'custom', message: 'a GET sends no body (use POST)', path: ['method'] });
    if (d.file?.field !== undefined && Object.keys(d.headers ?? {}).some((h) => h.toLowerCase() === 'content-type')) {
      ctx.addIssue({ code: 'custom', message: 'a multipart upload sets its own content-type (with its boundary): leave it out', path: ['headers'] });
    }
    if (d.model !== undefined && d.preset !== 'openai-chat') ctx.addIssue({ code: 'custom', message: 'only with the "openai-chat" preset', path: ['model'] });
    if (d.preset !== undefined && (d.body !== undefined || d.file !== undefined)) ctx.addIssue({ code: 'custom', message: 'a preset sends its own body (leave the preset out for a request of your own)', path: [d.body !== undefined ? 'body' : 'file'] });
    if (d.timeout > d.interval) ctx.addIssue({ code: 'custom', message: 'must not be longer than interval', path: ['timeout'] });
  });

const serviceSchema = z.strictObject(
  {
  name: z.string({ error: required('a name') }).regex(SERVICE_NAME_RE, { error: 'must match ^[a-z][a-z0-9_-]{0,31}$' }),
  // The probes' own parser (CONTRACT §9.10): what validates can be probed.
  healthUrl: z.string({ error: required('a health URL') }).superRefine((url, ctx) => {
    try {
      parseHealthUrl(url);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  restartCmd: z.string({ error: required('a shell command, or null for monitor only') }).min(1, { error: 'must not be empty (use null for monitor only)' }).nullable(),
  /** Shell strategy: run before restartCmd on a manual restart, so a healthy instance is really replaced (CONTRACT §9.8). */
  stopCmd: z.string().min(1, { error: 'must not be empty (leave it out for none)' }).optional(),
  container: z.string().min(1, { error: 'must not be empty' }).optional(),
  /** How this service is restarted (CONTRACT §13); default: the global serviceManagerType. */
  strategy: z.enum(['shell', 'docker', 'systemd'], { error: 'must be "shell", "docker" or "systemd"' }).optional(),
  /** systemd strategy: the unit (default: `<name>.service`). */
  unit: z.string().regex(/^[A-Za-z0-9:_.@\\-]+$/, { error: 'must be a unit name such as "redis-server.service"' }).optional(),
  /** systemd strategy: the system bus (system units) or the user's (systemctl --user). */
  bus: z.enum(['system', 'user'], { error: 'must be "system" or "user"' }).optional(),
  /** Optional pidfile of a shell-managed service: its death is noticed without waiting for a probe. */
  pidfile: z.string().min(1).optional(),
  /** A GPU service (CONTRACT §11): its GPU, and the free memory it needs before it is started again. */
  gpu: z
    .strictObject(
      {
        index: z.number({ error: 'must be a GPU index' }).int({ error: 'must be a whole number' }).min(0, { error: 'must be 0 or more' }).default(0),
        minFreeMiB: z.number({ error: 'must be a number of MiB' }).min(0, { error: 'must be 0 or more' }).default(0),
      },
      { error: 'must be an object with index and minFreeMiB' },
    )
    .optional(),
  /** The service's own log: its lines since a restart tell why it failed (CONTRACT §12). */
  logFile: z.string().min(1, { error: 'must not be empty (leave it out for none)' }).optional(),
  /** Docker: restart a container that was stopped on purpose (default: respect the stop). */
  restartWhenStopped: z.boolean().optional(),
  /** Services this one needs (CONTRACT §14): while one is not healthy, this one's failures are theirs and it is not restarted. */
  dependsOn: z.array(z.string({ error: 'must be a service name' }), { error: 'must be a list of service names' }).optional(),
  /** A real request that exercises the model, every few minutes (CONTRACT §14). */
  deepCheck: deepCheckSchema.optional(),
  ...Object.fromEntries(Object.entries(timingShape).map(([k, v]) => [k, v.optional()])),
} as {
  name: z.ZodString;
  healthUrl: z.ZodString;
  restartCmd: z.ZodNullable<z.ZodString>;
  stopCmd: z.ZodOptional<z.ZodString>;
  container: z.ZodOptional<z.ZodString>;
  strategy: z.ZodOptional<z.ZodEnum<{ shell: 'shell'; docker: 'docker'; systemd: 'systemd' }>>;
  unit: z.ZodOptional<z.ZodString>;
  bus: z.ZodOptional<z.ZodEnum<{ system: 'system'; user: 'user' }>>;
  pidfile: z.ZodOptional<z.ZodString>;
  logFile: z.ZodOptional<z.ZodString>;
  gpu: z.ZodOptional<z.ZodObject<{ index: z.ZodDefault<z.ZodNumber>; minFreeMiB: z.ZodDefault<z.ZodNumber> }, z.core.$strict>>;
  restartWhenStopped: z.ZodOptional<z.ZodBoolean>;
  dependsOn: z.ZodOptional<z.ZodArray<z.ZodString>>;
  deepCheck: z.ZodOptional<typeof deepCheckSchema>;
  } & { [K in TimingKey]: z.ZodOptional<(typeof timingShape)[K]> },
  { error: 'must be an object with name, healthUrl and restartCmd' },
);

export const DEFAULT_SERVICES = [
  { name: 'redis', healthUrl: 'redis://127.0.0.1:6379', restartCmd: 'sudo systemctl restart redis', container: 'redis' },
  {
    name: 'rtdetr',
    healthUrl: 'http://127.0.0.1:8090/health',
    restartCmd: './ai/start_detector.sh',
    // A manual restart stops a healthy instance first; the start script alone would keep it.
    stopCmd: './ai/stop_detector.sh',
    container: 'rtdetr',
    // The detector loads its model before binding (60–90 s): the start script waits up to 120 s,
    // so the kill window must be wider than that.
    startupTimeout: 150,
    restartTimeout: 150,
  },
  {
    name: 'nemotron',
    healthUrl: 'http://127.0.0.1:8091/health',
    restartCmd: './ai/start_nemotron.sh',
    stopCmd: './ai/stop_nemotron.sh',
    container: 'nemotron',
    // /health says ok while completions hang (notes/domain.md): a 1-token completion every 5 min tells.
    deepCheck: { preset: 'llama-completion', interval: 300, timeout: 30 },
    startupTimeout: 300,
    // start_nemotron.sh waits up to 300 s for a 30B model: never kill it at 60 s.
    restartTimeout: 330,
  },
] satisfies z.input<typeof serviceSchema>[];

/** A cron expression croner accepts (5 fields, or 6 with seconds); the error says what is wrong. */
const cronSchema = z.string({ error: 'must be a cron expression such as "0 3 * * *"' }).superRefine((expr, ctx) => {
  try {
    const cron = new Cron(expr, { paused: true });
    const next = cron.nextRun();
    cron.stop();
    if (next === null) ctx.addIssue({ code: 'custom', message: 'this cron expression never fires (e.g. 30 February)' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid cron expression: ${(err as Error).message}` });
  }
});

const isoTime = z.string({ error: 'must be an ISO 8601 time' }).refine((t) => !Number.isNaN(Date.parse(t)), { error: 'must be an ISO 8601 time such as "2026-12-24T22:00:00Z"' });

const windowServices = z
  .array(z.string({ error: 'must be a service name' }), { error: 'must be a list of service names (leave it out for all)' })
  .min(1, { error: 'must name at least one service (leave it out for all)' })
  .optional();
const windowReason = z.string().max(200, { error: 'must be at most 200 characters' }).optional();

/** A maintenance window: `cron` + `duration` (seconds) recurring, or `from`/`to` once. */
export const maintenanceSchema = z.union(
  [
    z.strictObject({ services: windowServices, cron: cronSchema, duration: seconds('positive'), reason: windowReason }),
    z
      .strictObject({ services: windowServices, from: isoTime, to: isoTime, reason: windowReason })
      .refine((w) => Date.parse(w.to) > Date.parse(w.from), { error: 'must end after it starts (to > from)', path: ['to'] }),
  ],
  { error: 'must be {cron, duration} or {from, to}, with optional services and reason' },
);

export const configSchema = z
  .strictObject({
    serviceManagerType: z.enum(['shell', 'docker', 'systemd'], { error: 'must be "shell", "docker" or "systemd"' }).default('shell'),
    healthCheckInterval: timingShape.healthCheckInterval.default(15),
    serviceHealthTimeout: timingShape.serviceHealthTimeout.default(5),
    serviceMaxRetries: timingShape.serviceMaxRetries.default(3),
    serviceBackoffBase: timingShape.serviceBackoffBase.default(5),
    restartTimeout: timingShape.restartTimeout.default(60),
    startupTimeout: timingShape.startupTimeout.default(120),
    resetAfter: timingShape.resetAfter.default(60),
    failedRetryInterval: timingShape.failedRetryInterval.default(600),
    workingDir: z.string().min(1, { error: 'must not be empty (use null for the default)' }).nullable().default(null),
    /** Docker strategy: seconds `docker restart` waits for a clean stop before SIGKILL. */
    dockerStopTimeout: seconds('nonnegative').default(10),
    /** Desktop notifications (tray app) on failure and recovery. */
    notifications: z.boolean().default(true),
    /** GPU telemetry and the release gate (CONTRACT §11); all optional: without an NVIDIA GPU nothing changes. */
    gpu: z
      .strictObject(
        {
          enabled: z.union([z.literal('auto'), z.boolean()], { error: 'must be "auto", true or false' }).default('auto'),
          smi: z.string().min(1, { error: 'must be the nvidia-smi command' }).default('nvidia-smi'),
          pollInterval: seconds('positive').default(2),
          releaseTimeout: seconds('positive').default(30),
          releaseRatio: z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be 0 to 1' }).max(1, { error: 'must be 0 to 1' }).default(0.75),
        },
        { error: 'must be an object (enabled, smi, pollInterval, releaseTimeout, releaseRatio)' },
      )
      .default({ enabled: 'auto', smi: 'nvidia-smi', pollInterval: 2, releaseTimeout: 30, releaseRatio: 0.75 }),
    server: z
      .strictObject({
        host: z.string().min(1, { error: 'must be a host name or address' }).default('127.0.0.1'),
        port: z.number({ error: 'must be a port number' }).int({ error: 'must be a whole number' }).min(0, { error: 'must be 0–65535' }).max(65535, { error: 'must be 0–65535' }).default(8765),
      }, { error: 'must be an object with host and port' })
      .default({ host: '127.0.0.1', port: 8765 }),
    services: z.array(serviceSchema, { error: 'must be a list of services' }).default(() => structuredClone(DEFAULT_SERVICES)),
    /** Maintenance windows (CONTRACT §14): recurring (cron, local time) or fixed; services paused meanwhile. */
    maintenance: z.array(maintenanceSchema, { error: 'must be a list of maintenance windows' }).default([]),
    /** Alerts that reach the owner away from the desk (CONTRACT §15): channels, severity, reminders. */
    alerts: alertsSchema.default(() => structuredClone(DEFAULT_ALERTS)),
  }, { error: 'must be a JSON object' })
  .superRefine((cfg, ctx) => {
    for (const issue of crossFieldIssues(cfg)) ctx.addIssue({ code: 'custom', ...issue });
  });

/**
 * The checks that span fields (unique names; docker:// only with the docker strategy), on input
 * that may be invalid elsewhere: zod skips an object's refinements once one of its fields has the
 * wrong type, so validateConfig runs these on the raw input too and every problem is named at once.
 */
function crossFieldIssues(raw: unknown): { path: (string | number)[]; message: string }[] {
  const cfg = (typeof raw === 'object' && raw !== null ? raw : {}) as { serviceManagerType?: unknown; services?: unknown; maintenance?: unknown };
  if (!Array.isArray(cfg.services)) return [];
  const global = typeof cfg.serviceManagerType === 'string' ? cfg.serviceManagerType : 'shell';
  const seen = new Map<string, number>();
  const issues: { path: (string | number)[]; message: string }[] = [];
  cfg.services.forEach((s: unknown, i) => {
    const svc = (typeof s === 'object' && s !== null ? s : {}) as { name?: unknown; healthUrl?: unknown; deepCheck?: unknown; strategy?: unknown };
    const strategy = typeof svc.strategy === 'string' ? svc.strategy : global;
    const deep = (typeof svc.deepCheck === 'object' && svc.deepCheck !== null ? svc.deepCheck : null) as { url?: unknown } | null;
    // A preset or a path is sent to the server the health URL names: that must be an http(s) one.
    if (deep && !(typeof deep.url === 'string' && /^https?:/i.test(deep.url)) && typeof svc.healthUrl === 'string' && !/^https?:/i.test(svc.healthUrl)) {
      issues.push({ path: ['services', i, 'deepCheck', 'url'], message: 'needs a full http(s) URL: the health URL is not an HTTP one' });
    }
    if (strategy !== 'docker' && typeof svc.healthUrl === 'string' && /^docker:\/\//i.test(svc.healthUrl)) {
      issues.push({ path: ['services', i, 'healthUrl'], message: 'docker:// health needs the docker strategy ("strategy": "docker", or "serviceManagerType": "docker")' });
    }
    if (strategy !== 'systemd' && typeof svc.healthUrl === 'string' && /^systemd:\/\//i.test(svc.healthUrl)) {
      issues.push({ path: ['services', i, 'healthUrl'], message: 'systemd:// health needs the systemd strategy ("strategy": "systemd")' });
    }
    if (typeof svc.name !== 'string') return;
    const first = seen.get(svc.name);
    if (first !== undefined) issues.push({ path: ['services', i, 'name'], message: `duplicate name "${svc.name}" (also services[${first}])` });
    else seen.set(svc.name, i);
  });
  issues.push(...dependencyIssues(cfg.services, seen));
  if (Array.isArray(cfg.maintenance)) {
    cfg.maintenance.forEach((w: unknown, i) => {
      const names = (typeof w === 'object' && w !== null ? (w as { services?: unknown }).services : undefined) ?? [];
      if (!Array.isArray(names)) return;
      names.forEach((n: unknown, j) => {
        if (typeof n === 'string' && !seen.has(n)) issues.push({ path: ['maintenance', i, 'services', j], message: `unknown service "${n}"` });
      });
    });
  }
  return issues;
}

/** dependsOn (CONTRACT §14): every name is a service, not itself, and no chain of them comes back round. */
function dependencyIssues(services: unknown[], index: ReadonlyMap<string, number>): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const deps = new Map<string, string[]>();
  services.forEach((s: unknown, i) => {
    const svc = (typeof s === 'object' && s !== null ? s : {}) as { name?: unknown; dependsOn?: unknown };
    if (typeof svc.name !== 'string' || !Array.isArray(svc.dependsOn)) return;
    const names = svc.dependsOn.filter((d): d is string => typeof d === 'string');
    names.forEach((d, j) => {
      if (d === svc.name) issues.push({ path: ['services', i, 'dependsOn', j], message: `"${d}" cannot depend on itself` });
      else if (!index.has(d)) issues.push({ path: ['services', i, 'dependsOn', j], message: `unknown service "${d}"` });
    });
    if (index.get(svc.name) === i) deps.set(svc.name, names.filter((d) => d !== svc.name && index.has(d)));
  });
  // Each cycle once, named from the service listed first: "a → b → a".
  const state = new Map<string, 'open' | 'done'>();
  const reported = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'open') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      const key = [...cycle.slice(0, -1)].sort().join(' ');
      if (!reported.has(key)) {
        reported.add(key);
        issues.push({ path: ['services', index.get(cycle[0]!)!, 'dependsOn'], message: `dependency cycle: ${cycle.join(' → ')}` });
      }
      return;
    }
    state.set(name, 'open');
    for (const d of deps.get(name) ?? []) visit(d, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of deps.keys()) visit(name, []);
  return issues;
}

/** A validated configuration (times in seconds). */
export type WardenConfig = z.output<typeof configSchema>;
export type ServiceConfigInput = z.input<typeof serviceSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;

/** A service with every global default folded in: what the monitor and managers work from. */
export type ResolvedService = Omit<ServiceConfig, TimingKey | 'container'> & {
  [K in TimingKey]: number;
} & { container: string; restartWhenStopped: boolean; dockerStopTimeout: number; dependsOn: string[]; strategy: 'shell' | 'docker' | 'systemd'; unit: string; bus: 'system' | 'user' };

/** Fold the global timing defaults into one service. */
export function resolveService(config: WardenConfig, service: ServiceConfig): ResolvedService {
  const timings = Object.fromEntries(TIMING_KEYS.map((k) => [k, service[k] ?? config[k]])) as Record<TimingKey, number>;
  return {
    ...service,
    ...timings,
    container: service.container ?? service.name,
    restartWhenStopped: service.restartWhenStopped ?? false,
    dockerStopTimeout: config.dockerStopTimeout,
    dependsOn: service.dependsOn ?? [],
    strategy: service.strategy ?? config.serviceManagerType,
    unit: service.unit ?? `${service.name}.service`,
    bus: service.bus ?? 'system',
  };
}

/** One problem with a configuration, its path written the way a user reads it: services[1].healthUrl. */
export interface ConfigIssue {
  path: string;
  message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

/** Validate untrusted input; returns the config or every problem with its field path. */
export function validateConfig(input: unknown): { ok: true; config: WardenConfig } | { ok: false; issues: ConfigIssue[] } {
  const result = configSchema.safeParse(input);
  if (result.success) return { ok: true, config: result.data };
  const issues = result.error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ path: formatPath([...issue.path, k]), message: 'unknown key' }));
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
  // Every problem in one run (CONTRACT §10): the cross-field checks also when a field is mistyped.
  for (const cross of crossFieldIssues(input)) {
    const issue = { path: formatPath(cross.path), message: cross.message };
    if (!issues.some((i) => i.path === issue.path && i.message === issue.message)) issues.push(issue);
  }
  return { ok: false, issues };
}

/** The configuration a first run writes: the design's defaults. */
export function defaultConfig(): WardenConfig {
  return configSchema.parse({});
}
