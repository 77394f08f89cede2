import { act, cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../../src-renderer/App.js';
import type { TokenEnv } from '../../../src-renderer/api/token.js';
import { GpuStrip, segmentColour } from '../../../src-renderer/components/dashboard/GpuStrip.js';
import { GPU_HISTORY, gpuReducer, initialGpuState } from '../../../src-renderer/state/gpu-reducer.js';
import { fakeFetch } from './fake-fetch.js';
import { FakeWebSocket, FakeWebSocketFactory } from './fake-websocket.js';
import { event, state } from './fixtures.js';
import { gpu0, gpuMessage, NO_GPU } from './gpu-fixtures.js';

// The GPU parts of the dashboard (CONTRACT §11), driven end to end through App: the fake
// WebSocket plays the server's `gpu` messages, as the real hub sends them.

const NOW = Date.parse('2025-12-26T02:30:00.000Z');
const tokenEnv: TokenEnv = {
  location: { hash: '', pathname: '/', search: '' },
  history: { state: null, replaceState: () => undefined },
  storage: { getItem: () => 'tok', setItem: () => undefined },
};
const UPTIME = { status: 200, body: { ratio: 1, buckets: Array(24).fill(1) } };
const SERVICES = [state('redis'), state('rtdetr')];

/** The dashboard, connected, with redis and rtdetr from the snapshot. */
async function connected(): Promise<FakeWebSocket> {
  const f = fakeFetch({
    'GET /api/status': { status: 200, body: { services: SERVICES, timestamp: '2025-12-26T02:00:00.000Z' } },
    'GET /api/services/redis/uptime': UPTIME,
    'GET /api/services/rtdetr/uptime': UPTIME,
  });
  render(<App tokenEnv={tokenEnv} WebSocketImpl={FakeWebSocketFactory} fetchImpl={f.fetch} />);
  await act(async () => vi.advanceTimersByTimeAsync(0));
  const ws = FakeWebSocket.last;
  ws.open();
  ws.receive({ type: 'snapshot', services: SERVICES, timestamp: 'x' });
  return ws;
}

const strip = () => screen.queryByRole('region', { name: 'GPUs' });
const panel = (index: number) => within(strip()!).getByRole('article', { name: new RegExp(`^GPU ${index}\\b`) });
const segments = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('.gpu__seg')].map((s) => ({ service: s.dataset.service, width: s.style.width, title: s.title }));

describe('GPU strip', () => {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    window.location.hash = '';
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  it('draws each GPU from the gpu message: a memory meter with a segment per service and one "other", utilisation and temperature', async () => {
    const ws = await connected();
    ws.receive(gpuMessage(gpu0()));
    const p = panel(0);
    expect(within(p).getByRole('heading').textContent).toBe('GPU 0 · NVIDIA GeForce RTX 4090');
    const meter = within(p).getByRole('meter', { name: 'Memory of GPU 0: 18.2 / 24.0 GiB' });
    expect(meter.getAttribute('aria-valuenow')).toBe('18636');
    expect(meter.getAttribute('aria-valuemax')).toBe('24564');
    // Services by name, their processes summed; "other" = the unowned process + the unlisted rest.
    expect(segments(meter)).toEqual([
      { service: 'nemotron', width: '2.08%', title: 'nemotron: 0.5 GiB' },
      { service: 'rtdetr', width: '71.28%', title: 'rtdetr: 17.1 GiB' },
      { service: 'other', width: '2.5%', title: 'other: 0.6 GiB' },
    ]);
    expect(within(p).getByTestId('gpu-memory').textContent).toBe('18.2 / 24.0 GiB');
    expect(within(p).getByTestId('gpu-util').textContent).toBe('87 %');
    expect(within(p).getByTestId('gpu-temp').textContent).toBe('64 °C');
  });

  it('fields the driver does not report read "—", never 0, and the bar is then no meter', async () => {
    const ws = await connected();
    ws.receive(gpuMessage(gpu0({ index: 1, uuid: 'GPU-1bbb', memoryUsedMiB: null, utilizationPct: null, temperatureC: null, processes: [] })));
    const p = panel(1);
    expect(within(p).getByTestId('gpu-memory').textContent).toBe('— / 24.0 GiB');
    expect(within(p).getByTestId('gpu-util').textContent).toBe('—');
    expect(within(p).getByTestId('gpu-temp').textContent).toBe('—');
    expect(within(p).queryByRole('meter')).toBeNull();
    expect(within(p).getByRole('img', { name: 'Memory of GPU 1: — / 24.0 GiB' }).children).toHaveLength(0);
    expect(within(p).getByText('no data yet')).toBeTruthy();
  });

  it('stays hidden until a gpu message arrives, and when there is no usable GPU', async () => {
    const ws = await connected();
    expect(strip()).toBeNull();
    ws.receive(NO_GPU);
    expect(strip()).toBeNull();
    expect(document.querySelector('.gpu')).toBeNull();
    ws.receive(gpuMessage(gpu0()));
    expect(strip()).not.toBeNull();
    // The GPU goes away (driver error): the strip goes too.
    ws.receive(NO_GPU);
    expect(strip()).toBeNull();
  });

  it('a reconnect forgets the GPUs until the server sends them again (it does only while one is usable)', async () => {
    const ws = await connected();
    ws.receive(gpuMessage(gpu0()));
    ws.drop();
    await act(async () => vi.advanceTimersByTimeAsync(60_000));
    const again = FakeWebSocket.last;
    expect(again).not.toBe(ws);
    again.open();
    again.receive({ type: 'snapshot', services: SERVICES, timestamp: 'y' });
    expect(strip()).toBeNull();
    again.receive(gpuMessage(gpu0({ memoryUsedMiB: 20000 })));
    // The sparkline's history survived the reconnect: two samples.
    expect(within(panel(0)).getByRole('img', { name: 'Memory used over the last 2 samples, latest 19.5 GiB' })).toBeTruthy();
  });

  it('the sparkline follows memory used over the last 60 samples', async () => {
    const ws = await connected();
    ws.receive(gpuMessage(gpu0()));
    expect(within(panel(0)).getByRole('img', { name: 'Memory used over the last sample, latest 18.2 GiB' })).toBeTruthy();
    for (let i = 1; i <= GPU_HISTORY + 5; i++) ws.receive(gpuMessage(gpu0({ memoryUsedMiB: 10_240 + i * 10 })));
    const line = within(panel(0)).getByRole('img', { name: 'Memory used over the last 60 samples, latest 10.6 GiB' });
    expect(line.querySelector('polyline')!.getAttribute('points')!.split(' ')).toHaveLength(GPU_HISTORY);
  });
});

describe('service cards and the GPU', () => {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  const card = (name: string) => screen.getByRole('article', { name });

  it("a card shows the VRAM the latest gpu message attributes to its service, and nothing otherwise", async () => {
    const ws = await connected();
    expect(within(card('rtdetr')).queryByTestId('vram')).toBeNull();
    ws.receive(gpuMessage(gpu0()));
    expect(within(card('rtdetr')).getByTestId('vram').textContent).toBe('VRAM 17.1 GiB on GPU 0');
    expect(within(card('redis')).queryByTestId('vram')).toBeNull();
    // rtdetr stopped: its processes are gone from the next sample, and so is the line.
    ws.receive(gpuMessage(gpu0({ processes: [{ pid: 102, usedMiB: 512, service: 'nemotron' }] })));
    expect(within(card('rtdetr')).queryByTestId('vram')).toBeNull();
    ws.receive(gpuMessage(gpu0()));
    ws.receive(NO_GPU);
    expect(within(card('rtdetr')).queryByTestId('vram')).toBeNull();
  });

  it('while a restart waits at the GPU release gate the banner counts down to giving up, and the next event clears it', async () => {
    const ws = await connected();
    ws.receive(
      event('rtdetr', {
        status: 'restarting',
        message: 'Waiting for GPU memory to be released (4096 of 18000 MiB free)',
        attempt: 1,
        waitUntil: new Date(NOW + 25_000).toISOString(),
      }),
    );
    const timer = () => within(screen.getByRole('alert')).queryByRole('timer')?.textContent ?? null;
    expect(timer()).toContain('gives up waiting in 25 s');
    await act(async () => vi.advanceTimersByTimeAsync(1000));
    expect(timer()).toContain('gives up waiting in 24 s');
    // The gate opened: the server's next event has no waitUntil.
    ws.receive(event('rtdetr', { status: 'restarting', message: 'Attempting restart (attempt 1/3)', attempt: 1 }));
    expect(screen.getByRole('alert').textContent).toContain('Attempting restart');
    expect(timer()).toBeNull();
  });
});

describe('GpuStrip on its own', () => {
  afterEach(cleanup);
  const stateOf = (message: unknown) => gpuReducer(initialGpuState, { type: 'gpu', message });

  it('a usable report with no GPUs in it shows nothing', () => {
    const { container } = render(<GpuStrip gpu={stateOf({ available: true, reason: null, gpus: [], timestamp: 'x' })} />);
    expect(container.innerHTML).toBe('');
  });

  it('a GPU without a reported name is headed by its index alone; the legend names each segment with its size', () => {
    render(<GpuStrip gpu={stateOf(gpuMessage(gpu0({ index: 2, uuid: 'GPU-2', name: '' })))} />);
    const p = screen.getByRole('article');
    expect(within(p).getByRole('heading').textContent).toBe('GPU 2');
    expect([...p.querySelectorAll('.gpu__legend li')].map((li) => li.textContent!.trim())).toEqual(['nemotron 0.5 GiB', 'rtdetr 17.1 GiB', 'other 0.6 GiB']);
  });

  it('a GPU with no memory samples yet says so instead of drawing a line', () => {
    const { type: _type, ...snapshot } = gpuMessage(gpu0());
    render(<GpuStrip gpu={{ snapshot, history: {} }} />);
    expect(within(screen.getByRole('article')).getByText('no data yet')).toBeTruthy();
  });

  it('a service keeps its colour whatever else runs; "other" has its own', () => {
    expect(segmentColour('rtdetr')).toBe(segmentColour('rtdetr'));
    expect(segmentColour('rtdetr')).toMatch(/^gpu__seg--c[0-5]$/);
    expect(new Set(['a', 'b', 'c', 'd', 'e', 'f'].map(segmentColour)).size).toBeGreaterThan(1);
    expect(segmentColour(null)).toBe('gpu__seg--other');
  });
});
