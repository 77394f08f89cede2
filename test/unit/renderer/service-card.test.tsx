import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../../src-renderer/api/client.js';
import { ServiceCard, UPTIME_REFRESH_MS } from '../../../src-renderer/components/dashboard/ServiceCard.js';
import type { ServiceState } from '../../../src-shared/protocol.js';
import { fakeFetch } from './fake-fetch.js';
import { state } from './fixtures.js';

const NOW = Date.parse('2025-12-26T02:05:00.000Z');
const UPTIME = { status: 200, body: { service: 'rtdetr', ratio: 0.5, buckets: [...Array(22).fill(null), 1, 0] } };

function card(s: ServiceState, routes: Parameters<typeof fakeFetch>[0] = {}, demo = false) {
  const f = fakeFetch({ 'GET /api/services/rtdetr/uptime': UPTIME, ...routes });
  const view = render(<ServiceCard state={s} api={new ApiClient('tok', f.fetch)} now={NOW} demo={demo} />);
  return { ...view, ...f };
}

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('ServiceCard', () => {
  it('shows status as words and symbol, the message, since, latency, restarts and the sparkline', async () => {
    card(state('rtdetr', { status: 'restart_failed', message: 'Restart failed: exit code 1', since: '2025-12-26T02:00:00.000Z', latencyMs: 12, restarts: 2, attempt: 2, recentLatencies: [10, 12, 11] }));
    const el = screen.getByRole('article', { name: 'rtdetr' });
    expect(el.dataset.status).toBe('restart_failed');
    expect(within(el).getByTestId('status').textContent).toContain('Restart failed');
    expect(el.textContent).toContain('Restart failed: exit code 1');
    expect(el.textContent).toContain('5 min ago');
    expect(el.textContent).toContain('12 ms');
    expect(within(el).getByTestId('restarts').textContent).toBe('2');
    expect(el.textContent).toContain('2/3');
    expect(within(el).getByRole('img', { name: /Latency of the last 3 checks, latest 11 ms/ })).toBeTruthy();
    await waitFor(() => expect(within(el).getByRole('img', { name: 'Uptime over the last 24 hours: 50 %' })).toBeTruthy());
    expect(el.querySelectorAll('.uptime__seg')).toHaveLength(24);
    expect(el.querySelectorAll('.uptime__seg--good')).toHaveLength(1);
    expect(el.querySelectorAll('.uptime__seg--bad')).toHaveLength(1);
  });

  it('an empty message or an unreadable time still leave a tidy card', () => {
    card(state('rtdetr', { message: '', since: 'not a time' }));
    expect(document.querySelector('.card__message')!.textContent).toBe('\u00a0');
    expect(screen.getByTitle('not a time').textContent).toBe('—');
  });

  it('a single latency reads "last check" and still draws its point', () => {
    card(state('rtdetr', { recentLatencies: [7] }));
    expect(screen.getByText('Latency, last check')).toBeTruthy();
    const svg = screen.getByRole('img', { name: 'Latency of the last check, latest 7 ms' });
    expect(svg.querySelector('circle')?.getAttribute('cx')).toBe('60.0');
  });

  it('shows the last failure reason with its output tail in a collapsible block', () => {
    card(state('rtdetr', { lastFailure: { reason: 'exit code 1', output: 'model file missing\n', at: '2025-12-26T02:04:00.000Z', cause: 'exit' } }));
    const details = document.querySelector('details')!;
    expect(details.querySelector('summary')!.textContent).toBe('Last failure 1 min ago: exit code 1');
    expect(details.querySelector('pre')!.textContent).toBe('model file missing\n');
    cleanup();
    card(state('rtdetr', { lastFailure: { reason: 'timed out', output: '', at: '', cause: 'timeout' } }));
    expect(document.querySelector('pre')!.textContent).toBe('(no output)');
  });

  it('says what the failure means and what to do, in words (CONTRACT §12)', () => {
    card(state('nemotron', { lastFailure: { reason: 'exit code 1: "failed to fit params to free device memory"', output: '', at: '', cause: 'cuda_oom' } }));
    expect(document.querySelector('details')!.getAttribute('data-cause')).toBe('cuda_oom');
    expect(document.querySelector('.card__cause')!.textContent).toMatch(/^The model does not fit in free GPU memory\. Free GPU memory/);
  });

  it('"Restart now" posts the action with the bearer token and confirms', async () => {
    const { calls } = card(state('rtdetr'), { 'POST /api/services/rtdetr/restart': { status: 202, body: { ok: true, message: 'restart requested' } } });
    fireEvent.click(screen.getByRole('button', { name: 'Restart now' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Restart requested'));
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.path).toBe('/api/services/rtdetr/restart');
    expect(post.headers.Authorization).toBe('Bearer tok');
  });

  it('a 409 answer shows its message inline', async () => {
    card(state('rtdetr'), { 'POST /api/services/rtdetr/restart': { status: 409, body: { ok: false, error: 'busy', message: 'a restart of rtdetr is already in progress' } } });
    fireEvent.click(screen.getByRole('button', { name: 'Restart now' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('a restart of rtdetr is already in progress'));
    expect(screen.getByRole('status').className).toContain('card__feedback--error');
  });

  it('an error answer without a message, and an unreachable server, still say what failed', async () => {
    card(state('rtdetr'), { 'POST /api/services/rtdetr/reset': { status: 500 }, 'POST /api/services/rtdetr/pause': new TypeError('offline') });
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Reset failed (HTTP 500)'));
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Pause failed: Warden is not reachable'));
  });

  it('an error answer with only an error code shows the code', async () => {
    card(state('rtdetr'), { 'POST /api/services/rtdetr/reset': { status: 404, body: { error: 'unknown service "rtdetr"' } } });
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('unknown service "rtdetr"'));
  });

  it('shows Pause for a running service and Resume for a paused one', async () => {
    const running = card(state('rtdetr'), { 'POST /api/services/rtdetr/pause': { status: 202, body: { ok: true } } });
    expect(screen.queryByRole('button', { name: 'Resume' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Paused'));
    running.unmount();
    const paused = card(state('rtdetr', { status: 'paused' }), { 'POST /api/services/rtdetr/resume': { status: 202, body: { ok: true } } });
    expect(screen.queryByRole('button', { name: 'Pause' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Resumed'));
    expect(paused.calls.map((c) => `${c.method} ${c.path}`)).toContain('POST /api/services/rtdetr/resume');
  });

  it('shows the VRAM the latest GPU sample attributes to the service, per GPU ("—" when its size is not reported)', () => {
    const f = fakeFetch({ 'GET /api/services/rtdetr/uptime': UPTIME });
    const view = render(<ServiceCard state={state('rtdetr')} api={new ApiClient('tok', f.fetch)} now={NOW} vram={[{ gpu: 0, usedMiB: 17510 }]} />);
    expect(screen.getByTestId('vram').textContent).toBe('VRAM 17.1 GiB on GPU 0');
    view.rerender(<ServiceCard state={state('rtdetr')} api={new ApiClient('tok', f.fetch)} now={NOW} vram={[{ gpu: 0, usedMiB: 17510 }, { gpu: 1, usedMiB: null }]} />);
    expect(screen.getByTestId('vram').textContent).toBe('VRAM 17.1 GiB on GPU 0, — on GPU 1');
    view.rerender(<ServiceCard state={state('rtdetr')} api={new ApiClient('tok', f.fetch)} now={NOW} vram={[]} />);
    expect(screen.queryByTestId('vram')).toBeNull();
  });

  it('a monitor-only service cannot be restarted, and says so', () => {
    card(state('rtdetr', { monitorOnly: true }));
    expect((screen.getByRole('button', { name: 'Restart now' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/Monitor only/)).toBeTruthy();
  });

  it('buttons are disabled while an action is in flight', async () => {
    let answer!: (v: { status: number; body: unknown }) => void;
    card(state('rtdetr'), { 'POST /api/services/rtdetr/reset': () => new Promise((r) => (answer = r)) });
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect((screen.getByRole('button', { name: 'Pause' }) as HTMLButtonElement).disabled).toBe(true);
    await act(async () => answer({ status: 202, body: { ok: true } }));
    expect((screen.getByRole('button', { name: 'Pause' }) as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByRole('status').textContent).toBe('Attempt counter reset');
  });

  it('"Simulate crash" appears only in demo mode and calls the demo API', async () => {
    card(state('rtdetr'));
    expect(screen.queryByRole('button', { name: 'Simulate crash' })).toBeNull();
    cleanup();
    const { calls } = card(state('rtdetr'), { 'POST /api/demo/rtdetr/crash': { status: 202, body: { ok: true } } }, true);
    fireEvent.click(screen.getByRole('button', { name: 'Simulate crash' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Crash simulated'));
    expect(calls.some((c) => c.path === '/api/demo/rtdetr/crash')).toBe(true);
  });

  it('shows what a service needs (CONTRACT §14), and nothing for one without dependencies', () => {
    const view = card(state('rtdetr', { dependsOn: ['redis', 'minio'] }));
    expect(screen.getByTestId('needs').textContent).toBe('needs redis, minio');
    view.unmount();
    card(state('rtdetr'));
    expect(screen.queryByTestId('needs')).toBeNull();
  });

  it('shows how its deep check went (CONTRACT §14): latency and age, a failure with its reason, a skip, not run yet', () => {
    const deep = { request: 'POST /completion', every: 300, outcome: 'ok' as const, reason: 'POST /completion: HTTP 200', latencyMs: 412, at: '2025-12-26T02:03:00.000Z' };
    const view = card(state('nemotron', { deepCheck: deep }));
    const line = () => screen.getByTestId('deep-check');
    expect(line().textContent).toBe('Deep check POST /completion: ok in 412 ms, 2 min ago (every 5 min)');
    view.rerender(<ServiceCard state={state('nemotron', { deepCheck: { ...deep, outcome: 'failed', reason: 'POST /completion: no answer within 30 s' } })} api={new ApiClient('tok', view.fetch)} now={NOW} />);
    expect(line().textContent).toBe('Deep check failed 2 min ago: POST /completion: no answer within 30 s');
    expect(line().className).toContain('card__deep--failed');
    view.rerender(<ServiceCard state={state('nemotron', { deepCheck: { ...deep, outcome: 'skipped', reason: 'all 4 slots busy' } })} api={new ApiClient('tok', view.fetch)} now={NOW} />);
    expect(line().textContent).toBe('Deep check skipped 2 min ago: all 4 slots busy');
    view.rerender(<ServiceCard state={state('nemotron', { deepCheck: { ...deep, every: 45, outcome: 'pending', reason: 'not run yet', latencyMs: null, at: null } })} api={new ApiClient('tok', view.fetch)} now={NOW} />);
    expect(line().textContent).toBe('Deep check POST /completion: not run yet (every 45 s)');
    view.rerender(<ServiceCard state={state('nemotron')} api={new ApiClient('tok', view.fetch)} now={NOW} />);
    expect(screen.queryByTestId('deep-check')).toBeNull();
  });

  it('"Break completions" appears in demo mode on a card with a deep check only, and calls the demo API', async () => {
    const deep = { request: 'POST /completion', every: 5, outcome: 'ok' as const, reason: '', latencyMs: 3, at: null };
    const f = fakeFetch({ 'GET /api/services/rtdetr/uptime': UPTIME, 'POST /api/demo/rtdetr/break': { status: 202, body: { ok: true } } });
    const api = new ApiClient('tok', f.fetch);
    const view = render(<ServiceCard state={state('rtdetr', { deepCheck: deep })} api={api} now={NOW} />);
    expect(screen.queryByRole('button', { name: 'Break completions' })).toBeNull(); // not the demo
    view.rerender(<ServiceCard state={state('rtdetr')} api={api} now={NOW} demo />);
    expect(screen.queryByRole('button', { name: 'Break completions' })).toBeNull(); // no deep check
    view.rerender(<ServiceCard state={state('rtdetr', { deepCheck: deep })} api={api} now={NOW} demo />);
    fireEvent.click(screen.getByRole('button', { name: 'Break completions' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Completions broken: they hang while /health says ok'));
    expect(f.calls.some((c) => c.path === '/api/demo/rtdetr/break' && c.method === 'POST')).toBe(true);
  });

  it('"Simulate CUDA OOM" appears in demo mode on a card with VRAM only, and calls the demo API', async () => {
    const f = fakeFetch({ 'GET /api/services/rtdetr/uptime': UPTIME, 'POST /api/demo/rtdetr/oom': { status: 202, body: { ok: true } } });
    const api = new ApiClient('tok', f.fetch);
    const view = render(<ServiceCard state={state('rtdetr')} api={api} now={NOW} demo />);
    expect(screen.queryByRole('button', { name: 'Simulate CUDA OOM' })).toBeNull(); // not a GPU service
    view.rerender(<ServiceCard state={state('rtdetr')} api={api} now={NOW} demo vram={[{ gpu: 0, usedMiB: 2600 }]} />);
    fireEvent.click(screen.getByRole('button', { name: 'Simulate CUDA OOM' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Out of GPU memory simulated'));
    expect(f.calls.some((c) => c.path === '/api/demo/rtdetr/oom')).toBe(true);
  });

  it('"Maintenance 30 min" POSTs a window for this service only, confirms, then asks for the list to be refetched', async () => {
    const f = fakeFetch({ 'GET /api/services/rtdetr/uptime': UPTIME, 'POST /api/maintenance': { status: 201, body: { ok: true } } });
    const changed = vi.fn();
    render(<ServiceCard state={state('rtdetr')} api={new ApiClient('tok', f.fetch)} now={NOW} onMaintenance={changed} />);
    fireEvent.click(screen.getByRole('button', { name: 'Maintenance 30 min' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('In maintenance for 30 min'));
    expect(f.calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.body])).toEqual([['/api/maintenance', { services: ['rtdetr'], minutes: 30 }]]);
    expect(changed).toHaveBeenCalledTimes(1);
  });

  it('"Maintenance 30 min" sits after Pause/Resume, shows a refusal inline, and is absent without a maintenance API', async () => {
    const f = fakeFetch({ 'GET /api/services/rtdetr/uptime': UPTIME, 'POST /api/maintenance': { status: 400, body: { error: 'unknown service: rtdetr' } } });
    const api = new ApiClient('tok', f.fetch);
    const view = render(<ServiceCard state={state('rtdetr', { status: 'paused' })} api={api} now={NOW} onMaintenance={() => undefined} />);
    const names = [...document.querySelectorAll('.card__actions button')].map((b) => b.textContent);
    expect(names.indexOf('Maintenance 30 min')).toBe(names.indexOf('Resume') + 1);
    fireEvent.click(screen.getByRole('button', { name: 'Maintenance 30 min' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('unknown service: rtdetr'));
    view.rerender(<ServiceCard state={state('rtdetr')} api={api} now={NOW} />);
    expect(screen.queryByRole('button', { name: 'Maintenance 30 min' })).toBeNull();
  });

  it('while a window covers it, says until when in local 24 h time, and nothing once it is over', () => {
    const f = fakeFetch({ 'GET /api/services/rtdetr/uptime': UPTIME });
    const api = new ApiClient('tok', f.fetch);
    const until = new Date(2025, 11, 26, 15, 5).toISOString();
    const view = render(<ServiceCard state={state('rtdetr', { status: 'paused', maintenanceUntil: until })} api={api} now={NOW} />);
    expect(screen.getByTestId('maintenance').textContent).toBe('In maintenance until 15:05');
    view.rerender(<ServiceCard state={state('rtdetr', { status: 'paused', maintenanceUntil: 'not a time' })} api={api} now={NOW} />);
    expect(screen.queryByTestId('maintenance')).toBeNull();
    view.rerender(<ServiceCard state={state('rtdetr')} api={api} now={NOW} />);
    expect(screen.queryByTestId('maintenance')).toBeNull();
  });

  it('refreshes the uptime bar every minute and keeps the last one when offline', async () => {
    vi.useFakeTimers();
    let n = 0;
    const { calls } = card(state('rtdetr', { recentLatencies: [] }), {
      'GET /api/services/rtdetr/uptime': () =>
        ++n === 1 ? UPTIME : n === 2 ? new TypeError('offline') : n === 3 ? { status: 503, body: { error: 'x' } } : { status: 200, body: { buckets: 'bad' } },
    });
    await act(async () => vi.advanceTimersByTimeAsync(0));
    expect(screen.getByText('50 %')).toBeTruthy();
    await act(async () => vi.advanceTimersByTimeAsync(UPTIME_REFRESH_MS));
    expect(screen.getByText('50 %')).toBeTruthy();
    await act(async () => vi.advanceTimersByTimeAsync(UPTIME_REFRESH_MS));
    expect(screen.getByText('50 %')).toBeTruthy(); // an error answer keeps the last bar too
    await act(async () => vi.advanceTimersByTimeAsync(UPTIME_REFRESH_MS));
    expect(calls.filter((c) => c.path.startsWith('/api/services/rtdetr/uptime?hours=24'))).toHaveLength(4);
    expect(document.querySelectorAll('.uptime__seg')).toHaveLength(0);
    expect(screen.getByText('no data yet')).toBeTruthy();
  });
});
