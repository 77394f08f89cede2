// When a deep check runs (CONTRACT §14): on a clock the test moves, against a real stand-in.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, resolveService } from '../../../src-shared/config-schema.js';
import { systemClock } from '../../../src-main/core/monitor/clock.js';
import { DeepCheckCadence } from '../../../src-main/core/monitor/deep-check-cadence.js';
import { resolveDeepCheck } from '../../../src-main/core/probes/deep-check.js';
import type { ProbeResult } from '../../../src-main/core/probes/probe.js';
import { startStandIn, type StandIn } from '../../../src-main/demo/stand-in-service.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

const UP: ProbeResult = { state: 'up', reason: 'HTTP 200', latencyMs: 3 };
const DOWN: ProbeResult = { state: 'down', reason: 'connection refused', latencyMs: 1 };

async function setup(): Promise<{ llm: StandIn; cadence: DeepCheckCadence; clock: { t: number } }> {
  const llm = await startStandIn({ kind: 'llm' });
  open.push(llm);
  const cfg = configSchema.parse({ services: [{ name: 'nemotron', healthUrl: llm.healthUrl, restartCmd: null, deepCheck: { preset: 'llama-completion', interval: 300, timeout: 5 } }] });
  const clock = { t: 1_000_000 };
  const cadence = new DeepCheckCadence(resolveDeepCheck(resolveService(cfg, cfg.services[0]!), '/')!, { ...systemClock, now: () => clock.t });
  open.push(cadence);
  return { llm, cadence, clock };
}

/** Completions the stand-in answered so far (each deep check is one /slots look and one completion). */
const completions = (llm: StandIn) => llm.requests() / 2;

describe('DeepCheckCadence', () => {
  it('runs at the first health check that says up, then not again until its interval has passed', async () => {
    const { llm, cadence, clock } = await setup();
    expect(cadence.view()).toEqual({ request: 'POST /completion', every: 300, outcome: 'pending', reason: 'not run yet', latencyMs: null, at: null });
    expect(await cadence.follow(UP)).toMatchObject({ state: 'up', deep: { outcome: 'ok' } });
    clock.t += 299_000;
    expect(await cadence.follow(UP)).toEqual(UP); // not due: the health check's result as it was
    expect(completions(llm)).toBe(1);
    clock.t += 1000;
    await cadence.follow(UP);
    expect(completions(llm)).toBe(2);
    expect(cadence.view()).toMatchObject({ outcome: 'ok', reason: 'POST /completion: HTTP 200', at: new Date(clock.t).toISOString() });
  });

  it('a failure turns the result down with cause deep_check_failed, and it runs at every look until it passes', async () => {
    const { llm, cadence } = await setup();
    llm.update({ completions: 'fail' });
    expect(await cadence.follow(UP)).toMatchObject({ state: 'down', cause: 'deep_check_failed', latencyMs: 3, reason: expect.stringMatching(/^deep check failed: POST \/completion: HTTP 500/) });
    expect(cadence.failing).toBe(true);
    await cadence.follow(UP); // the fresh look before a restart checks again
    expect(completions(llm)).toBe(2);
    llm.update({ completions: 'ok' });
    expect(await cadence.follow(UP)).toMatchObject({ state: 'up' });
    expect(cadence.failing).toBe(false);
  });

  it('checks again before calling a new instance healthy: after any answer that was not up, and after a restart', async () => {
    const { llm, cadence } = await setup();
    await cadence.follow(UP);
    expect(await cadence.follow(DOWN)).toBe(DOWN); // never a deep check behind a failed health check
    expect(completions(llm)).toBe(1);
    await cadence.follow(UP);
    expect(completions(llm)).toBe(2);
    cadence.reset();
    await cadence.follow(UP);
    expect(completions(llm)).toBe(3);
  });

  it('a skip does not clear a failure: the server stays down, by the last real verdict, until a run passes', async () => {
    const { llm, cadence } = await setup();
    llm.update({ completions: 'fail' });
    await cadence.follow(UP);
    llm.update({ busy: true });
    expect(await cadence.follow(UP)).toMatchObject({ state: 'down', cause: 'deep_check_failed', reason: expect.stringMatching(/HTTP 500.*\(now every slot is busy\)$/), deep: { outcome: 'skipped' } });
    expect(cadence.failing).toBe(true);
    llm.update({ busy: false, completions: 'ok' });
    expect(await cadence.follow(UP)).toMatchObject({ state: 'up' });
  });

  it('a run that a restart overtook, or that was aborted, is not recorded: the new instance is still checked', async () => {
    const { llm, cadence } = await setup();
    llm.update({ completions: 'hang' });
    const running = cadence.follow(UP);
    await waitForBusySlot(llm);
    cadence.reset(); // a restart begins while the old instance's run hangs
    llm.update({ completions: 'ok' });
    await llm.close(); // the old instance goes; its run ends in a network error
    expect(await running).toEqual(UP);
    expect(cadence.view().outcome).toBe('pending');
    const abort = new AbortController();
    abort.abort();
    expect(await cadence.follow(UP, abort.signal)).toEqual(UP);
    expect(cadence.view().outcome).toBe('pending');
  });

  it('a skipped run (every slot busy) is shown, changes nothing, and is tried again at the next look', async () => {
    const { llm, cadence } = await setup();
    llm.update({ busy: true });
    expect(await cadence.follow(UP)).toMatchObject({ state: 'up', deep: { outcome: 'skipped', reason: 'all 1 slot busy' } });
    expect(cadence.view()).toMatchObject({ outcome: 'skipped' });
    llm.update({ busy: false });
    expect(await cadence.follow(UP)).toMatchObject({ deep: { outcome: 'ok' } });
  });
});

async function waitForBusySlot(llm: StandIn): Promise<void> {
  for (;;) {
    const slots = (await (await fetch(`${llm.url}/slots`)).json()) as { is_processing: boolean }[];
    if (slots[0]!.is_processing) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
