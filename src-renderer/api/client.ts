import type { AlertsStatus, MaintenanceList, MaintenanceWindow, ServiceAction } from '../../src-shared/protocol.js';

/** An API answer: the HTTP status and the parsed JSON body (null when there was none). */
export interface ApiResult<T = unknown> {
  status: number;
  ok: boolean;
  body: T | null;
  /** The ETag header, when the answer has one (GET/PUT /api/settings). */
  etag: string | null;
}

/** The dashboard's REST client: same origin, bearer token on every call. */
export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  /** One request; network errors reject, HTTP errors resolve with their status. */
  async request<T = unknown>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await this.fetchImpl(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let parsed: T | null = null;
    try {
      parsed = (await res.json()) as T;
    } catch {
      parsed = null;
    }
    return { status: res.status, ok: res.ok, body: parsed, etag: res.headers.get('ETag') };
  }

  status() {
    return this.request<{ services: unknown[]; timestamp: string; demo?: boolean }>('GET', '/api/status');
  }

  uptime(service: string, hours = 24) {
    return this.request<{ service: string; ratio: number | null; buckets: (number | null)[] }>('GET', `/api/services/${encodeURIComponent(service)}/uptime?hours=${hours}`);
  }

  act(service: string, action: ServiceAction) {
    return this.request<{ ok: boolean; message?: string; error?: string }>('POST', `/api/services/${encodeURIComponent(service)}/${action}`);
  }

  crash(service: string) {
    return this.request<{ ok?: boolean; message?: string; error?: string }>('POST', `/api/demo/${encodeURIComponent(service)}/crash`);
  }

  /** Demo: a GPU stand-in dies of CUDA out of memory. */
  oom(service: string) {
    return this.request<{ ok?: boolean; message?: string; error?: string }>('POST', `/api/demo/${encodeURIComponent(service)}/oom`);
  }

  /** Demo: the stand-in's completions hang while its /health still says ok (its deep check finds it). */
  breakCompletions(service: string) {
    return this.request<{ ok?: boolean; message?: string; error?: string }>('POST', `/api/demo/${encodeURIComponent(service)}/break`);
  }

  /** Alert channels and how their deliveries went (CONTRACT §15); an older server answers 404. */
  alerts() {
    return this.request<Partial<AlertsStatus>>('GET', '/api/alerts');
  }

  /** Send a test alert on one channel now; the answer is the real outcome. */
  testAlert(channel: string) {
    return this.request<{ ok?: boolean; results?: { channel: string; ok: boolean; error?: string }[]; error?: string }>('POST', '/api/alerts/test', { channel });
  }

  /** Active maintenance windows and the next occurrence of recurring ones (CONTRACT §14); an older server answers 404. */
  maintenance() {
    return this.request<Partial<MaintenanceList>>('GET', '/api/maintenance');
  }

  /** An ad-hoc window from now on; without services it covers all of them. */
  startMaintenance(o: { services?: string[]; minutes: number; reason?: string }) {
    return this.request<{ ok?: boolean; window?: MaintenanceWindow; error?: string; message?: string }>('POST', '/api/maintenance', o);
  }

  /** Ends every ad-hoc window (config windows cannot be ended). */
  endMaintenance() {
    return this.request<{ ok?: boolean; ended?: number; error?: string; message?: string }>('DELETE', '/api/maintenance');
  }

  settings() {
    return this.request<Record<string, unknown>>('GET', '/api/settings');
  }

  /** PUT the settings; with the ETag they were read with, a change on disk since answers 412. */
  saveSettings(config: unknown, etag?: string | null) {
    return this.request<{ ok?: boolean; config?: Record<string, unknown>; error?: string; issues?: { path: string; message: string }[] }>(
      'PUT',
      '/api/settings',
      config,
      etag ? { 'If-Match': etag } : {},
    );
  }
}
