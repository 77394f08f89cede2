import { vi } from 'vitest';

/** One recorded API call. */
export interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error;
type Route = (call: Call) => Reply | Promise<Reply>;

/**
 * A fetch stand-in for the UI unit layer: routes `METHOD /path` to canned answers and records
 * every call. The e2e tests use the real server instead.
 */
export function fakeFetch(routes: Record<string, Route | Reply>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const path = String(input);
    const call: Call = {
      method: init.method ?? 'GET',
      path,
      headers: (init.headers ?? {}) as Record<string, string>,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const key = `${call.method} ${path.split('?')[0]}`;
    const route = routes[key];
    if (!route) return new Response(JSON.stringify({ error: 'unknown API path' }), { status: 404 });
    const reply = typeof route === 'function' ? await route(call) : route;
    if (reply instanceof Error) throw reply;
    return new Response(reply.body === undefined ? '' : JSON.stringify(reply.body), { status: reply.status, headers: reply.headers });
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}
