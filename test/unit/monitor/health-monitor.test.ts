import { afterEach, describe, expect, it } from 'vitest';
import { harness, testConfig } from '../../helpers/monitor-harness.js';

let h: ReturnType<typeof harness>;
afterEach(async () => {
  await h.dispose();
});

/** A fake-timer wait that, like a real restart, ends at once on abort (a stop): the clock may not run on. */
function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

const svc = (extra: Record<string, unknown> = {}) => ({ name: 'svc', healthUrl: 'http://127.0.0.1:1/health', restartCmd: 'true', ...extra });

describe('recovery schedule (CONTRACT §3)', () => {
  it('goes unhealthy at t, restarts at t+5 s, t+15 s, t+35 s (5/10/20 s backoff), then failed', async () => {
    h = harness(testConfig({ failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.failRestarts('svc');
    h.monitor.start();
    await h.advance(60_000);

    expect(h.timeline()).toEqual([
      '0:unhealthy',
      '5000:restarting',
      '5000:restart_failed',
      '15000:restarting',
      '15000:restart_failed',
      '35000:restarting',
      '35000:restart_failed',
      '35000:failed',
    ]);
    expect(h.manager.restartTimes('svc')).toEqual([5000, 15000, 35000]);
    const [unhealthy, r1, f1, , , , f3, failed] = h.events;
    expect(unhealthy).toMatchObject({ previous: 'unknown', nextRetryAt: new Date(5000).toISOString(), attempt: 0, maxAttempts: 3 });
    expect(r1).toMatchObject({ message: 'Attempting restart (attempt 1/3)', attempt: 1, previous: 'unhealthy' });
    expect(f1).toMatchObject({ attempt: 1, reason: 'exit code 1', output: 'boom: no GPU', nextRetryAt: new Date(15000).toISOString() });
    expect(f1?.message).toContain('exit code 1');
    expect(f3).toMatchObject({ attempt: 3, nextRetryAt: null });
    expect(failed).toMatchObject({ message: 'Max retries exceeded', previous: 'restart_failed' });
  });

  it('sends the five design fields on every event, with an ISO UTC timestamp', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(0);
    const e = h.events[0]!;
    expect(Object.keys(e)).toEqual(expect.arrayContaining(['type', 'service', 'status', 'message', 'timestamp']));
    expect(e.type).toBe('service_status');
    expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('keeps probing a failed service without repeating events, and reports healthy when it comes back', async () => {
    h = harness(testConfig({ failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.failRestarts('svc');
    h.monitor.start();
    await h.advance(35_000);
    expect(h.monitor.state('svc')?.status).toBe('failed');
    const before = h.events.length;
    await h.advance(15_000 * 4);
    expect(h.events.length).toBe(before);
    expect(h.manager.probeTimes('svc').filter((t) => t > 35_000)).toEqual([50_000, 65_000, 80_000, 95_000]);

    h.manager.set('svc', 'up');
    await h.advance(15_000);
    expect(h.events.at(-1)).toMatchObject({ status: 'healthy', previous: 'failed', message: 'Service recovered' });
  });

  it('starts a new round of attempts failedRetryInterval after giving up', async () => {
    h = harness(testConfig({ failedRetryInterval: 600 }));
    h.manager.set('svc', 'down');
    h.manager.failRestarts('svc');
    h.monitor.start();
    await h.advance(35_000);
    expect(h.monitor.state('svc')).toMatchObject({ status: 'failed', nextRetryAt: new Date(635_000).toISOString() });
    await h.advance(600_000);
    expect(h.timeline().slice(8)).toEqual(['635000:unhealthy']);
    await h.advance(5_000);
    expect(h.manager.restartTimes('svc').at(-1)).toBe(640_000);
    expect(h.events.at(-2)).toMatchObject({ status: 'restarting', message: 'Attempting restart (attempt 1/3)' });
  });
});

describe('recovery outcomes', () => {
  it('reports healthy after a successful restart and counts it (readiness looks at the new instance at once)', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(5_000);
    expect(h.timeline()).toEqual(['0:unhealthy', '5000:restarting', '5000:healthy']);
    expect(h.manager.probeTimes('svc')).toEqual([0, 5_000, 5_000]);
    expect(h.events.at(-1)?.message).toBe('Service restarted successfully');
    expect(h.monitor.state('svc')).toMatchObject({ status: 'healthy', restarts: 1, attempt: 1 });
  });

  it('cancels the restart when the fresh probe before it finds the service healthy', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(1_000);
    h.manager.set('svc', 'up');
    await h.advance(4_000);
    expect(h.timeline()).toEqual(['0:unhealthy', '5000:healthy']);
    expect(h.events.at(-1)?.message).toBe('Service recovered without restart');
    expect(h.manager.restarts).toHaveLength(0);
  });

  it('a hung service is restarted when its backoff ends: the fresh look runs during the wait, not after it', async () => {
    h = harness(testConfig({ serviceHealthTimeout: 5 }));
    h.manager.set('svc', 'down');
    h.manager.probeDelay.set('svc', 5_000); // every probe runs into the 5 s timeout
    h.monitor.start();
    await h.advance(10_000);
    expect(h.timeline()).toEqual(['5000:unhealthy', '10000:restarting']);
    // Found hung at 5 s; the fresh look starts at once and ends with the 5 s wait (the old loop
    // started it at 10 s and restarted at 15 s); then readiness from 10 s.
    expect(h.manager.probeTimes('svc')).toEqual([0, 5_000, 10_000]);
    expect(h.manager.restartTimes('svc')).toEqual([10_000]);
  });

  it('polls readiness after a restart and fails the attempt when startupTimeout passes', async () => {
    h = harness(testConfig({ services: [svc({ startupTimeout: 2, serviceMaxRetries: 1 })], failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', async () => {
      h.manager.set('svc', 'loading');
      return { ok: true, output: '' };
    });
    h.monitor.start();
    await h.advance(7_000);
    // The restart at 5 s, then readiness at once and every 250 ms until the 2 s startupTimeout runs out.
    expect(h.manager.probeTimes('svc').filter((t) => t >= 5_000)).toEqual([5_000, 5_000, 5_250, 5_500, 5_750, 6_000, 6_250, 6_500, 6_750]);
    // While it says it is loading after the restart, it is starting, not restarting (§9.7).
    expect(h.timeline()).toEqual(['0:unhealthy', '5000:restarting', '5000:starting', '7000:restart_failed', '7000:failed']);
    expect(h.events[2]?.message).toBe('Loading after restart (Loading model); waiting up to 2 s');
    expect(h.events[3]).toMatchObject({ reason: 'not healthy within 2 s of restart (Loading model)', output: '' });
  });

  it('becomes healthy as soon as readiness polling sees the service up', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', async () => {
      h.manager.set('svc', 'loading');
      setTimeout(() => h.manager.set('svc', 'up'), 1_100);
      return { ok: true, output: '' };
    });
    h.monitor.start();
    await h.advance(7_000);
    expect(h.timeline()).toEqual(['0:unhealthy', '5000:restarting', '5000:starting', '6250:healthy']);
  });

  it('treats a throwing restart like a failed one and keeps the reason', async () => {
    h = harness(testConfig({ services: [svc({ serviceMaxRetries: 1 })] }));
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', async () => {
      throw new Error('daemon went away');
    });
    h.monitor.start();
    await h.advance(5_000);
    expect(h.events.find((e) => e.status === 'restart_failed')?.reason).toBe('daemon went away');
    expect(h.monitor.state('svc')?.lastFailure).toMatchObject({ reason: 'daemon went away', at: new Date(5_000).toISOString() });
  });

  it('publishes every probe result to probe subscribers, without status events', async () => {
    h = harness();
    const probes: string[] = [];
    h.monitor.onProbe((p) => void probes.push(`${p.service}:${p.state}:${p.latencyMs}`));
    h.monitor.start();
    await h.advance(30_000);
    h.manager.probeDelay.set('svc', 3);
    await h.advance(15_003);
    expect(probes).toEqual(['svc:up:0', 'svc:up:0', 'svc:up:0', 'svc:up:3']);
    expect(h.monitor.state('svc')?.recentLatencies).toEqual([0, 0, 0, 3]);
    expect(h.events).toHaveLength(1);
  });

  it('survives a probe that throws: the loop goes on', async () => {
    h = harness(testConfig({ services: [svc({ restartCmd: null })] }));
    h.manager.set('svc', () => {
      throw new Error('probe exploded');
    });
    h.monitor.start();
    await h.advance(30_000);
    expect(h.manager.probeTimes('svc')).toEqual([0, 15_000, 30_000]);
    expect(h.monitor.state('svc')?.message).toContain('probe exploded');
  });
});

describe('crash loops back off (CONTRACT §9.11)', () => {
  it('a service that fails again soon after a restart starts a new episode at attempt 1/N, with the last wait doubled', async () => {
    h = harness(testConfig({ resetAfter: 60 }));
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(5_000); // restarted at 5 s after a 5 s wait, and healthy
    h.manager.set('svc', 'down');
    await h.advance(15_000); // the 20 s probe sees it down again, within resetAfter
    await h.advance(10_000); // the new episode waits 10 s, not 5 s
    expect(h.manager.restartTimes('svc')).toEqual([5_000, 30_000]);
    expect(h.timeline().slice(3)).toEqual(['20000:unhealthy', '30000:restarting', '30000:healthy']);
    expect(h.events[3]).toMatchObject({ attempt: 0, nextRetryAt: new Date(30_000).toISOString() });
    expect(h.events[4]?.message).toBe('Attempting restart (attempt 1/3)');

    h.manager.set('svc', 'down'); // third crash, seen by the 45 s probe: 20 s
    await h.advance(15_000 + 20_000);
    expect(h.manager.restartTimes('svc').at(-1)).toBe(45_000 + 20_000);
  });

  it('never goes from healthy to failed: with a budget of 1, every crash is still restarted', async () => {
    h = harness(testConfig({ services: [svc({ serviceMaxRetries: 1 })], failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.monitor.start();
    for (let i = 0; i < 4; i++) {
      await h.advance(30_000);
      h.manager.set('svc', 'down');
    }
    expect(h.events.map((e) => e.status)).not.toContain('failed');
    expect(h.manager.restarts.length).toBeGreaterThanOrEqual(3);
    expect(h.events.filter((e) => e.status === 'restarting').map((e) => e.message)).toEqual(h.manager.restarts.map(() => 'Attempting restart (attempt 1/1)'));
    for (const [i, e] of h.events.entries()) {
      if (e.previous === 'healthy') expect(['unhealthy', 'starting', 'paused', 'restarting'], `event ${i}`).toContain(e.status);
    }
  });

  it('caps the first wait at 300 s', async () => {
    h = harness(testConfig({ services: [svc({ serviceBackoffBase: 100 })], resetAfter: 10_000 }));
    h.manager.set('svc', 'down');
    h.monitor.start();
    for (let i = 0; i < 4; i++) {
      await h.advance(330_000); // the wait runs out and the restart brings it back
      h.manager.set('svc', 'down');
    }
    await h.advance(15_000);
    const waits = h.events.filter((e) => e.status === 'unhealthy').map((e) => Date.parse(e.nextRetryAt!) - Date.parse(e.timestamp));
    expect(waits).toEqual([100_000, 200_000, 300_000, 300_000, 300_000]);
  });

  it('the backoff and the budget come back after resetAfter of health', async () => {
    h = harness(testConfig({ resetAfter: 60 }));
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(5_000); // attempt 1, healthy from 5 s
    await h.advance(60_000); // probes at 20, 35, 50, 65 s: 60 s healthy at 65 s
    expect(h.monitor.state('svc')?.attempt).toBe(0);
    h.manager.set('svc', 'down');
    await h.advance(15_000 + 5_000); // down at 80 s, restarted 5 s later: the base wait again
    expect(h.manager.restartTimes('svc').at(-1)).toBe(85_000);
  });
});

describe('slow starters (loading)', () => {
  it('reports starting and never restarts while loading within startupTimeout', async () => {
    h = harness(testConfig({ services: [svc({ startupTimeout: 300 })] }));
    h.manager.set('svc', 'loading');
    h.monitor.start();
    await h.advance(285_000);
    expect(h.timeline()).toEqual(['0:starting']);
    expect(h.manager.restarts).toHaveLength(0);
    h.manager.set('svc', 'up');
    await h.advance(15_000);
    expect(h.timeline()).toEqual(['0:starting', '300000:healthy']);
  });

  it('treats a service still loading after startupTimeout as unhealthy and restarts it', async () => {
    h = harness(testConfig({ services: [svc({ startupTimeout: 20 })] }));
    h.manager.set('svc', 'loading');
    h.monitor.start();
    await h.advance(30_000);
    expect(h.timeline().slice(0, 2)).toEqual(['0:starting', '30000:unhealthy']);
    expect(h.events[1]?.message).toContain('still loading after 20 s');
    await h.advance(5_000);
    expect(h.manager.restartTimes('svc')).toEqual([35_000]);
  });

  it('counts startupTimeout from the first loading of the episode: loading, down, loading is restarted once it is spent (§9.5)', async () => {
    h = harness(testConfig({ services: [svc({ startupTimeout: 20 })] }));
    h.manager.set('svc', 'loading');
    h.monitor.start();
    await h.advance(14_000);
    h.manager.set('svc', 'down'); // the 15 s probe sees it down…
    await h.advance(2_000);
    h.manager.set('svc', 'loading'); // …and loading again at the 20 s look: its 20 s are spent
    await h.advance(4_250);
    expect(h.timeline()).toEqual(['0:starting', '15000:unhealthy', '20000:restarting', '20000:healthy']);
    expect(h.manager.restartTimes('svc')).toEqual([20_000]);
  });

  it('restarts a service that keeps alternating between loading and down (the old loop never did)', async () => {
    h = harness(testConfig({ services: [svc({ startupTimeout: 60 })], healthCheckInterval: 5 }));
    let n = 0;
    h.manager.set('svc', () => (n++ % 2 === 0 ? 'loading' : 'down'));
    h.monitor.start();
    await h.advance(120_000);
    expect(h.manager.restartTimes('svc').length).toBeGreaterThan(0);
    expect(h.manager.restartTimes('svc')[0]).toBeLessThanOrEqual(60_000 + 20_000);
  });

  it('does not grant a second startup window to a service that stayed loading through a restart', async () => {
    h = harness(testConfig({ services: [svc({ startupTimeout: 2, serviceMaxRetries: 2 })], failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', async () => {
      h.manager.set('svc', 'loading');
      return { ok: true, output: '' };
    });
    h.monitor.start();
    await h.advance(7_000); // restart at 5 s, still loading at 7 s: attempt 1 failed
    await h.advance(10_000); // the fresh probe at 17 s sees it loading, past its window: attempt 2
    expect(h.manager.restartTimes('svc')).toEqual([5_000, 17_000]);
    // At 17 s: restarted (not sent to starting by the fresh look), then loading after that restart.
    expect(h.timeline().filter((t) => t.startsWith('17000:'))).toEqual(['17000:restarting', '17000:starting']);
  });

  it('goes to starting, not restarting, when the fresh probe before a restart sees it loading', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(1_000);
    h.manager.set('svc', 'loading');
    await h.advance(4_000);
    expect(h.timeline()).toEqual(['0:unhealthy', '5000:starting']);
    expect(h.manager.restarts).toHaveLength(0);
  });
});

describe('manual actions', () => {
  it('restart skips the backoff and starts with a fresh budget', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    h.manager.failRestarts('svc');
    h.monitor.start();
    await h.advance(6_000); // attempt 1 failed at 5 s; next at 15 s
    expect(h.monitor.act('svc', 'restart')).toMatchObject({ ok: true });
    await h.advance(0);
    expect(h.manager.restartTimes('svc')).toEqual([5_000, 6_000]);
    expect(h.events.at(-2)).toMatchObject({ status: 'restarting', message: 'Attempting restart (attempt 1/3)' });
  });

  it('a restart asked for during the probe before an automatic restart runs once, and that probe is not taken as readiness', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    h.manager.probeDelay.set('svc', 100);
    h.monitor.start();
    // Unhealthy at 100 ms; the fresh look is timed to end with the 5 s wait: it runs 5 000–5 100 ms.
    await h.advance(5_050);
    expect(h.monitor.act('svc', 'restart')).toMatchObject({ ok: true });
    await h.advance(1_000);
    expect(h.manager.restartTimes('svc')).toEqual([5_050]);
    expect(h.manager.restarts[0]?.manual).toBe(true);
    // The look from before the restart ends at 5.1 s and is ignored; readiness probes 5.1–5.2 s.
    expect(h.timeline()).toEqual(['100:unhealthy', '5050:restarting', '5200:healthy']);
  });

  it('restart of a healthy service runs at once and refuses a second while one is in flight', async () => {
    h = harness();
    let release!: () => void;
    h.manager.onRestart.set('svc', () => new Promise((resolve) => (release = () => resolve({ ok: true, output: '' }))));
    h.monitor.start();
    await h.advance(1_000);
    expect(h.monitor.act('svc', 'restart')).toMatchObject({ ok: true });
    expect(h.monitor.act('svc', 'restart')).toMatchObject({ ok: false, error: 'busy' });
    await h.advance(0);
    expect(h.monitor.act('svc', 'restart')).toMatchObject({ ok: false, error: 'busy' });
    release();
    await h.advance(0);
    expect(h.timeline()).toEqual(['0:healthy', '1000:restarting', '1000:healthy']);
  });

  it('pause stops restarts (still probed); resume probes at once with a fresh budget', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(1_000);
    h.monitor.act('svc', 'pause');
    await h.advance(60_000);
    expect(h.manager.restarts).toHaveLength(0);
    expect(h.manager.probeTimes('svc')).toEqual([0, 15_000, 30_000, 45_000, 60_000]);
    expect(h.monitor.state('svc')?.message).toContain('connection refused');
    expect(h.timeline()).toEqual(['0:unhealthy', '1000:paused']);

    h.manager.set('svc', 'up');
    h.monitor.act('svc', 'resume');
    await h.advance(0);
    expect(h.timeline().at(-1)).toBe('61000:healthy');
  });

  it('reset clears the counter and sends a failed service through the flow again at once', async () => {
    h = harness(testConfig({ failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.failRestarts('svc');
    h.monitor.start();
    await h.advance(40_000);
    expect(h.monitor.state('svc')?.status).toBe('failed');
    h.manager.onRestart.delete('svc');
    h.monitor.act('svc', 'reset');
    await h.advance(5_000);
    expect(h.timeline().slice(-3)).toEqual(['40000:unhealthy', '45000:restarting', '45000:healthy']);
    expect(h.events.at(-2)?.message).toBe('Attempting restart (attempt 1/3)');
  });

  it('restart of a paused service resumes it', async () => {
    h = harness();
    h.monitor.start();
    h.monitor.act('svc', 'pause');
    h.monitor.act('svc', 'restart');
    await h.advance(250);
    expect(h.monitor.state('svc')?.status).toBe('healthy');
    expect(h.manager.restarts).toHaveLength(1);
  });

  it('never restarts a monitor-only service and says why', async () => {
    h = harness(testConfig({ services: [svc({ restartCmd: null })] }));
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(60_000);
    expect(h.timeline()).toEqual(['0:unhealthy']);
    expect(h.monitor.state('svc')).toMatchObject({ monitorOnly: true });
    expect(h.monitor.act('svc', 'restart')).toMatchObject({ ok: false, error: 'monitor_only' });
    expect(h.monitor.act('nope', 'restart')).toBeUndefined();
  });
});

describe('independence and robustness', () => {
  it('runs each service on its own loop: a hung restart never delays another service', async () => {
    h = harness(testConfig({ services: [svc({ name: 'a' }), svc({ name: 'b' })] }));
    h.manager.set('a', 'down');
    // Hangs until aborted (as the real managers do at restartTimeout or stop).
    h.manager.onRestart.set('a', (_svc, signal) => new Promise((resolve) => {
      signal?.addEventListener('abort', () => resolve({ ok: false, reason: 'aborted', output: '', exitCode: null, signal: null, timedOut: false }));
    }));
    h.monitor.start();
    await h.advance(60_000);
    expect(h.manager.probeTimes('b')).toEqual([0, 15_000, 30_000, 45_000, 60_000]);
    expect(h.monitor.state('a')?.status).toBe('restarting');
  });

  it('isolates a subscriber that throws: it loses that event only, stays subscribed, and the others see everything (§9.9)', async () => {
    h = harness();
    const seen: string[] = [];
    let thrown = 0;
    let rejected = 0;
    h.monitor.subscribe(() => {
      thrown++;
      throw new Error('closed socket');
    });
    h.monitor.subscribe(async () => {
      rejected++;
      throw new Error('disk full');
    });
    h.monitor.subscribe((e) => {
      seen.push(e.status);
    });
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(5_000);
    await h.advance(250);
    expect(seen).toEqual(['unhealthy', 'restarting', 'healthy']);
    expect([thrown, rejected]).toEqual([3, 3]);
    expect(h.events).toHaveLength(3);
  });

  it('probes at once on an outside trigger, but never cuts a backoff short', async () => {
    h = harness();
    h.monitor.start();
    await h.advance(1_000);
    h.manager.set('svc', 'down');
    h.monitor.trigger('svc');
    await h.advance(0);
    expect(h.timeline()).toEqual(['0:healthy', '1000:unhealthy']);
    h.monitor.trigger('svc');
    h.monitor.triggerAll();
    await h.advance(0);
    expect(h.manager.restarts).toHaveLength(0);
    await h.advance(5_000);
    expect(h.manager.restartTimes('svc')).toEqual([6_000]);
  });

  it('stops cleanly, aborting an in-flight restart', async () => {
    h = harness();
    let aborted = false;
    h.manager.onRestart.set('svc', (_svc, signal) => new Promise((resolve) => {
      signal?.addEventListener('abort', () => {
        aborted = true;
        resolve({ ok: false, reason: 'aborted', output: '', exitCode: null, signal: 'SIGTERM', timedOut: false });
      });
    }));
    h.monitor.start();
    h.monitor.act('svc', 'restart');
    await h.advance(0);
    await h.monitor.stop();
    expect(aborted).toBe(true);
    expect(h.events.at(-1)?.status).toBe('restarting');
  });
});

describe('timers', () => {
  it('never turns a wait longer than Node can time into an immediate one', async () => {
    h = harness(testConfig({ healthCheckInterval: 10_000_000 }));
    h.monitor.start();
    await h.advance(60_000);
    expect(h.manager.probeTimes('svc')).toEqual([0]);
  });
});

describe('live config', () => {
  it('adds, removes and updates services without losing the state of the others', async () => {
    h = harness(testConfig({ services: [svc({ name: 'a' }), svc({ name: 'b' })] }));
    h.monitor.start();
    await h.advance(1_000);
    h.apply(testConfig({ healthCheckInterval: 5, services: [svc({ name: 'b' }), svc({ name: 'c' })] }));
    expect(h.monitor.states().map((s) => s.service)).toEqual(['b', 'c']);
    expect(h.monitor.has('a')).toBe(false);
    await h.advance(10_000);
    // b keeps its state and follows the 5 s interval from its last probe; c starts probing.
    expect(h.manager.probeTimes('b')).toEqual([0, 5_000, 10_000]);
    expect(h.manager.probeTimes('c')).toEqual([1_000, 6_000, 11_000]);
    expect(h.monitor.state('b')?.since).toBe(new Date(0).toISOString());
  });
});

describe('corner cases found in review', () => {
  it('reset during a long crash-loop wait starts the wait again from the base, from now', async () => {
    h = harness(testConfig({ services: [svc({ serviceBackoffBase: 100 })], resetAfter: 10_000 }));
    h.manager.set('svc', 'down');
    h.monitor.start();
    await h.advance(100_000); // restarted at 100 s, healthy
    h.manager.set('svc', 'down');
    await h.advance(15_000); // down at 115 s: the next wait is 200 s
    expect(h.monitor.state('svc')?.nextRetryAt).toBe(new Date(315_000).toISOString());
    h.monitor.act('svc', 'reset');
    expect(h.monitor.state('svc')?.nextRetryAt).toBe(new Date(215_000).toISOString());
    await h.advance(100_000);
    expect(h.manager.restartTimes('svc').at(-1)).toBe(215_000);
  });

  it('"attempt n/N" follows N when it is lowered while that attempt runs', async () => {
    h = harness(testConfig({ failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.failRestarts('svc');
    h.monitor.start();
    await h.advance(15_000); // attempt 2 fails at 15 s
    // Attempt 3 hangs until Warden stops.
    h.manager.onRestart.set('svc', (_s, signal) => new Promise((resolve) => signal?.addEventListener('abort', () => resolve({ ok: false, reason: 'aborted', output: '', exitCode: null, signal: null, timedOut: false }))));
    await h.advance(20_000);
    expect(h.monitor.state('svc')?.message).toBe('Attempting restart (attempt 3/3)');
    h.apply(testConfig({ failedRetryInterval: 0, serviceMaxRetries: 2 }));
    expect(h.monitor.state('svc')).toMatchObject({ attempt: 2, maxAttempts: 2, message: 'Attempting restart (attempt 2/2)' });
  });

  it('a failed service made monitor only, then given a command again, gets a fresh round instead of failed at once', async () => {
    h = harness(testConfig({ failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.failRestarts('svc');
    h.monitor.start();
    await h.advance(35_000);
    expect(h.monitor.state('svc')?.status).toBe('failed');
    h.apply(testConfig({ failedRetryInterval: 0, services: [svc({ restartCmd: null })] }));
    expect(h.timeline().at(-1)).toBe('35000:unhealthy');
    h.manager.onRestart.delete('svc');
    h.apply(testConfig({ failedRetryInterval: 0, services: [svc({ restartCmd: './fixed.sh' })] }));
    await h.advance(15_000 + 5_000);
    // The next down is a new round, announced (the status was already unhealthy), then restarted.
    expect(h.timeline().slice(-3)).toEqual(['50000:unhealthy', '55000:restarting', '55000:healthy']);
    expect(h.events.at(-3)).toMatchObject({ attempt: 0, nextRetryAt: new Date(55_000).toISOString() });
  });

  it('a restarted service still loading when readiness ends, within startupTimeout of its first loading, is starting, not a failed restart', async () => {
    h = harness(testConfig({ services: [svc({ startupTimeout: 10 })], failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', async () => {
      // Binds late (like the detector), then loads for a while.
      setTimeout(() => h.manager.set('svc', 'loading'), 6_000);
      setTimeout(() => h.manager.set('svc', 'up'), 20_000);
      return { ok: true, output: '' };
    });
    h.monitor.start();
    await h.advance(5_000 + 25_000);
    const statuses = h.events.map((e) => e.status);
    expect(statuses).not.toContain('restart_failed');
    // Readiness ends at 15 s with it loading since 11 s: starting, looked at on its interval.
    expect(h.timeline()).toEqual(['0:unhealthy', '5000:restarting', '11000:starting', '29750:healthy']);
    expect(h.manager.restarts).toHaveLength(1);
  });

  it('a restart that waited for a removed twin to end does not run once the service is paused meanwhile', async () => {
    h = harness(testConfig({ services: [svc({ name: 'a' })] }));
    h.manager.set('a', 'down');
    let release!: () => void;
    h.manager.onRestart.set('a', () => new Promise((resolve) => (release = () => resolve({ ok: true, output: '' }))));
    h.monitor.start();
    await h.advance(5_000); // a's restart is in flight
    h.apply(testConfig({ services: [] })); // removed: that restart may finish
    h.apply(testConfig({ services: [svc({ name: 'a' })] })); // back: its own restart waits for it
    expect(h.monitor.act('a', 'restart')).toMatchObject({ ok: true });
    h.monitor.act('a', 'pause');
    h.manager.onRestart.delete('a');
    release();
    await h.advance(1_000);
    expect(h.manager.restartTimes('a')).toEqual([5_000]);
    // It never ran: neither a failure nor a restart to count.
    expect(h.monitor.state('a')).toMatchObject({ status: 'paused', lastFailure: null, restarts: 0 });
  });

  it('stop() called by a subscriber from inside an event waits for what the queued inputs started', async () => {
    h = harness();
    h.manager.set('svc', 'down');
    let aborted = 0;
    h.manager.onRestart.set('svc', (_svc, signal) => new Promise((resolve) => signal?.addEventListener('abort', () => {
      aborted++;
      resolve({ ok: false, reason: 'aborted', output: '', exitCode: null, signal: null, timedOut: false });
    })));
    let stopped: Promise<void> | undefined;
    h.monitor.subscribe((e) => {
      if (e.status === 'restarting') stopped = h.monitor.runner('svc')!.stop();
    });
    h.monitor.start();
    await h.advance(5_000);
    await stopped;
    // Stopped before the restart command got to run: it never did, and nothing is left in flight.
    expect([h.manager.restarts.length, aborted]).toEqual([0, 0]);
    expect(h.monitor.runner('svc')?.machine).toMatchObject({ restart: null, probing: false, wakeAt: null, phase: { kind: 'stopped' } });
    expect(h.monitor.runner('svc')?.timerPending).toBe(false);
  });
});

describe('failure causes and their policy (CONTRACT §12)', () => {
  const failWith = (output: string, exitCode = 1) => async () => ({ ok: false as const, reason: `exit code ${exitCode}`, output, exitCode, signal: null, timedOut: false });

  it('a missing model fails at once, with the cause and the line quoted, and no new round starts by itself', async () => {
    h = harness(testConfig({ failedRetryInterval: 60 }));
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', failWith("gguf_init_from_file: failed to open GGUF file '/m/x.gguf' (No such file or directory)"));
    h.monitor.start();
    await h.advance(10 * 60_000);
    expect(h.manager.restarts).toHaveLength(1);
    expect(h.timeline()).toEqual(['0:unhealthy', '5000:restarting', '5000:restart_failed', '5000:failed']);
    const [, , failed, gaveUp] = h.events;
    expect(failed).toMatchObject({ cause: 'model_missing', reason: `exit code 1: "gguf_init_from_file: failed to open GGUF file '/m/x.gguf' (No such file or directory)"` });
    expect(gaveUp).toMatchObject({ cause: 'model_missing', message: 'Not retried: the model file is missing (restarting cannot fix it)', nextRetryAt: null });
    expect(h.monitor.state('svc')?.lastFailure).toMatchObject({ cause: 'model_missing' });
  });

  it('...until the config changes, or a person resets it', async () => {
    h = harness(testConfig({ failedRetryInterval: 60 }));
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', failWith('start_nemotron.sh: error: model not readable', 2));
    h.monitor.start();
    await h.advance(5_000);
    expect(h.events.at(-1)).toMatchObject({ status: 'failed', cause: 'config' });
    h.apply(testConfig({ failedRetryInterval: 60 })); // the same config: nothing happens
    await h.advance(60_000);
    expect(h.manager.restarts).toHaveLength(1);
    h.apply(testConfig({ failedRetryInterval: 60, services: [svc({ restartCmd: './fixed.sh' })] }));
    await h.advance(6_000); // a look now (after the 0.25 s gap), then the 5 s wait, then attempt 1
    expect(h.manager.restarts).toHaveLength(2);
    await h.advance(60_000);
    h.monitor.act('svc', 'reset');
    await h.advance(5_000);
    expect(h.manager.restarts).toHaveLength(3);
  });

  it('a port in use is retried once, then fails at once', async () => {
    h = harness(testConfig({ services: [svc({ serviceMaxRetries: 5 })] }));
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', failWith('ERROR: [Errno 98] address already in use'));
    h.monitor.start();
    await h.advance(60_000);
    expect(h.manager.restartTimes('svc')).toEqual([5_000, 15_000]);
    expect(h.events.at(-1)).toMatchObject({ status: 'failed', cause: 'port_in_use', attempt: 2, maxAttempts: 5 });
  });

  it('a CUDA out-of-memory failure is retried (the memory may come back)', async () => {
    h = harness(testConfig({ failedRetryInterval: 0 }));
    h.manager.set('svc', 'down');
    h.manager.onRestart.set('svc', failWith('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB'));
    h.monitor.start();
    await h.advance(60_000);
    expect(h.manager.restarts).toHaveLength(3);
    expect(h.events.filter((e) => e.status === 'restart_failed').map((e) => e.cause)).toEqual(['cuda_oom', 'cuda_oom', 'cuda_oom']);
    expect(h.events.at(-1)).toMatchObject({ status: 'failed', cause: 'cuda_oom', message: 'Max retries exceeded' });
  });
});

describe('one load per GPU (CONTRACT §11)', () => {
  const gpuSvc = (name: string, extra: Record<string, unknown> = {}) => ({ ...svc({ name }), gpu: { index: 0 }, ...extra });
  /** nemotron and rtdetr on GPU 0, both down, each restart taking `ms` then loading for `loadMs`; started. */
  function bothDownOnGpu0(ms: number, loadMs: number) {
    h = harness(testConfig({ healthCheckInterval: 1, services: [gpuSvc('nemotron'), gpuSvc('rtdetr')] }));
    for (const n of ['nemotron', 'rtdetr']) {
      h.manager.set(n, 'down');
      slowLoads(n, ms, loadMs);
    }
    h.monitor.start();
  }
  /** Restarts that take `ms` and leave the service loading for `loadMs` before it answers. */
  function slowLoads(name: string, ms: number, loadMs: number) {
    h.manager.onRestart.set(name, async (_svc, signal) => {
      await abortableDelay(ms, signal);
      const upAt = Date.now() + loadMs;
      h.manager.set(name, () => (Date.now() >= upAt ? 'up' : 'loading'));
      return { ok: true, output: 'started' };
    });
  }

  it('the second GPU service waits until the first is healthy, says for whom, and then restarts', async () => {
    h = harness(testConfig({ healthCheckInterval: 1, services: [gpuSvc('nemotron'), gpuSvc('rtdetr'), svc({ name: 'redis' })] }));
    for (const n of ['nemotron', 'rtdetr', 'redis']) {
      h.manager.set(n, 'down');
      slowLoads(n, 1000, 10_000);
    }
    h.monitor.start();
    await h.advance(5000); // both GPU services are due now; nemotron was first
    expect(h.monitor.state('rtdetr')).toMatchObject({ status: 'restarting', message: 'Waiting for nemotron to finish loading on GPU 0' });
    expect(h.manager.restartTimes('nemotron')).toEqual([5000]);
    expect(h.manager.restartTimes('redis')).toEqual([5000]); // not a GPU service: never waits
    await h.advance(10_000); // nemotron still loading
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    await h.advance(1000);
    const healthy = h.events.find((e) => e.service === 'nemotron' && e.status === 'healthy')!;
    expect(h.manager.restartTimes('rtdetr')).toEqual([healthy.at]);
    expect(h.timeline('rtdetr')).toEqual(['0:unhealthy', '5000:restarting', '5000:restarting']); // the second: the wait, said
    await h.advance(12_000);
    expect(h.monitor.state('rtdetr')?.status).toBe('healthy');
    expect(h.monitor.state('rtdetr')?.attempt).toBe(1); // the wait used no attempt
  });

  it('a service waiting for the GPU that is paused leaves the line and is not restarted', async () => {
    bothDownOnGpu0(1000, 10_000);
    await h.advance(5000);
    expect(h.monitor.state('rtdetr')?.message).toBe('Waiting for nemotron to finish loading on GPU 0');
    h.monitor.act('rtdetr', 'pause');
    await h.advance(30_000);
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    expect(h.monitor.state('rtdetr')?.status).toBe('paused');
    expect(h.monitor.state('nemotron')?.status).toBe('healthy');
    h.monitor.act('rtdetr', 'resume'); // the GPU is free again: no wait
    await h.advance(6000);
    expect(h.manager.restartTimes('rtdetr')).toHaveLength(1);
  });

  it('a GPU service found loading (not restarted by Warden) holds its GPU: another waits for it', async () => {
    h = harness(testConfig({ healthCheckInterval: 1, startupTimeout: 60, services: [gpuSvc('nemotron'), gpuSvc('rtdetr')] }));
    const upAt = 20_000;
    h.manager.set('nemotron', () => (Date.now() >= upAt ? 'up' : 'loading'));
    h.manager.set('rtdetr', 'down');
    h.monitor.start();
    await h.advance(10_000);
    expect(h.monitor.state('nemotron')?.status).toBe('starting');
    expect(h.monitor.state('rtdetr')?.message).toBe('Waiting for nemotron to finish loading on GPU 0');
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    await h.advance(11_000);
    expect(h.manager.restartTimes('rtdetr')).toEqual([20_000]);
  });

  it('a holder paused mid-restart keeps its GPU until that restart ends; the next never loads beside it (review)', async () => {
    bothDownOnGpu0(20_000, 0);
    await h.advance(6000);
    h.monitor.act('nemotron', 'pause'); // its restart is not aborted: it still loads
    await h.advance(18_000); // 24 s: nemotron's restart (from 5 s, 20 s long) still runs
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    await h.advance(2000); // it ended at 25 s
    expect(h.manager.restartTimes('rtdetr')).toEqual([25_000]);
  });

  it('pause and resume while waiting in line: the wait is given up and the service looked at again, never restarted beside the holder (review)', async () => {
    bothDownOnGpu0(20_000, 0);
    await h.advance(6000);
    h.monitor.act('rtdetr', 'pause');
    h.monitor.act('rtdetr', 'resume');
    await h.advance(10_000);
    expect(h.manager.restartTimes('rtdetr')).toEqual([]); // nemotron still holds GPU 0
    await h.advance(30_000);
    expect(h.manager.restartTimes('rtdetr').every((t) => t >= 25_000)).toBe(true);
    expect(h.manager.restartTimes('rtdetr').length).toBeGreaterThan(0);
  });

  it('a service that comes back by itself while it waits in line is not restarted, and no attempt is used (review)', async () => {
    bothDownOnGpu0(10_000, 0);
    await h.advance(6000);
    expect(h.monitor.state('rtdetr')?.message).toBe('Waiting for nemotron to finish loading on GPU 0');
    h.manager.set('rtdetr', 'up');
    await h.advance(12_000);
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    expect(h.monitor.state('rtdetr')).toMatchObject({ status: 'healthy', restarts: 0, lastFailure: null });
    expect(h.events.filter((e) => e.service === 'rtdetr').map((e) => e.status)).not.toContain('restart_failed');
  });

  it('made monitor only while waiting in line: no false "restart failed" (review)', async () => {
    bothDownOnGpu0(10_000, 0);
    await h.advance(6000);
    h.apply(testConfig({ healthCheckInterval: 1, services: [gpuSvc('nemotron'), gpuSvc('rtdetr', { restartCmd: null })] }));
    await h.advance(12_000);
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    expect(h.events.filter((e) => e.service === 'rtdetr').map((e) => e.status)).not.toContain('restart_failed');
    expect(h.monitor.state('rtdetr')).toMatchObject({ status: 'unhealthy', lastFailure: null, monitorOnly: true });
  });

  it('a service moved to another GPU in the settings while it waits in line stops waiting for the old one (review)', async () => {
    bothDownOnGpu0(30_000, 0);
    await h.advance(6000);
    expect(h.monitor.state('rtdetr')?.message).toBe('Waiting for nemotron to finish loading on GPU 0');
    h.apply(testConfig({ healthCheckInterval: 1, services: [gpuSvc('nemotron'), gpuSvc('rtdetr', { gpu: { index: 1 } })] }));
    await h.advance(10_000);
    // Restarted on GPU 1 long before nemotron (until 35 s) lets go of GPU 0; the wait used no attempt.
    expect(h.manager.restartTimes('rtdetr')).toHaveLength(1);
    expect(h.manager.restartTimes('rtdetr')[0]).toBeLessThan(16_000);
    expect(h.events.filter((e) => e.service === 'rtdetr').map((e) => e.status)).not.toContain('restart_failed');
  });

  it('a restart that fails lets go of the GPU: the next in line goes on', async () => {
    h = harness(testConfig({ healthCheckInterval: 1, services: [gpuSvc('nemotron'), gpuSvc('rtdetr')] }));
    h.manager.set('nemotron', 'down');
    h.manager.set('rtdetr', 'down');
    h.manager.failRestarts('nemotron');
    slowLoads('rtdetr', 0, 0);
    h.monitor.start();
    await h.advance(5000);
    expect(h.manager.restartTimes('rtdetr')).toEqual([5000]);
    expect(h.monitor.state('nemotron')?.status).toBe('restart_failed');
  });
});

describe('dependencies (CONTRACT §14)', () => {
  const detectorNeedsRedis = () => testConfig({ healthCheckInterval: 10, services: [svc({ name: 'redis' }), svc({ name: 'rtdetr', dependsOn: ['redis'] })] });

  it('when Redis is down only Redis is restarted; the detector is unhealthy "waiting for redis" with no attempt, and is probed at once when Redis is back', async () => {
    h = harness(detectorNeedsRedis());
    h.monitor.start();
    await h.advance(0);
    expect(h.timeline()).toEqual(['0:healthy', '0:healthy']);
    let redisUp = false;
    h.manager.set('redis', () => (redisUp ? 'up' : 'down'));
    h.manager.set('rtdetr', () => (redisUp ? 'up' : 'down')); // its failures are Redis's
    h.manager.onRestart.set('redis', async () => {
      await new Promise((r) => setTimeout(r, 3000));
      redisUp = true;
      return { ok: true, output: 'started' };
    });
    await h.advance(10_000); // both probed down at t = 10 s
    const waiting = h.events.find((e) => e.service === 'rtdetr' && e.status === 'unhealthy')!;
    expect(waiting).toMatchObject({ cause: 'dependency_down', message: 'Health check failed: connection refused; waiting for redis (not restarted while it is down)', attempt: 0, nextRetryAt: null });
    expect(h.monitor.state('rtdetr')).toMatchObject({ waitingFor: 'redis', dependsOn: ['redis'] });
    await h.advance(10_000); // Redis restarted at 15 s, healthy at 18 s
    expect(h.manager.restartTimes('redis')).toEqual([15_000]);
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    const redisHealthy = h.events.find((e) => e.service === 'redis' && e.status === 'healthy' && e.at > 0)!;
    expect(h.manager.probeTimes('rtdetr').filter((t) => t > 10_000)[0]).toBe(redisHealthy.at); // at once, not at the next interval
    expect(h.monitor.state('rtdetr')).toMatchObject({ status: 'healthy', attempt: 0 });
    expect(h.monitor.state('rtdetr')?.waitingFor).toBeUndefined();
  });

  it('a dependent still down once its dependency is back goes through the usual flow from attempt 1', async () => {
    h = harness(detectorNeedsRedis());
    h.manager.set('redis', 'down');
    h.manager.set('rtdetr', 'down');
    h.manager.onRestart.set('rtdetr', async () => ({ ok: true, output: 'started' }));
    h.monitor.start();
    await h.advance(4000);
    expect(h.monitor.state('rtdetr')?.status).toBe('unhealthy');
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    h.manager.set('redis', 'up'); // back by itself, before its restart was due
    await h.advance(15_000);
    expect(h.manager.restartTimes('redis')).toEqual([]);
    // The detector was looked at as soon as Redis was healthy: still down, so its own 5 s backoff, then attempt 1.
    const redisBack = h.events.find((e) => e.service === 'redis' && e.status === 'healthy')!.at;
    expect(h.manager.restartTimes('rtdetr')).toEqual([redisBack + 5000]);
    expect(h.events.find((e) => e.service === 'rtdetr' && e.status === 'restarting')?.message).toBe('Attempting restart (attempt 1/3)');
  });

  it('a backoff already running when the dependency goes down is dropped; a chain names the root cause', async () => {
    h = harness(testConfig({ healthCheckInterval: 10, services: [svc({ name: 'redis' }), svc({ name: 'rtdetr', dependsOn: ['redis'] }), svc({ name: 'nemotron', dependsOn: ['rtdetr'] })] }));
    h.monitor.start();
    await h.advance(0);
    h.manager.set('nemotron', 'down');
    h.monitor.trigger('nemotron');
    await h.advance(1000);
    expect(h.monitor.state('nemotron')?.status).toBe('unhealthy'); // in its 5 s backoff
    h.manager.set('redis', 'down');
    h.manager.set('rtdetr', 'down');
    h.manager.failRestarts('redis');
    h.monitor.trigger('redis');
    await h.advance(100);
    expect(h.monitor.state('nemotron')).toMatchObject({ waitingFor: 'redis', message: 'Not restarted: redis is down; waiting for redis (not restarted while it is down)' });
    await h.advance(60_000);
    expect(h.manager.restartTimes('nemotron')).toEqual([]);
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
    expect(h.manager.restartTimes('redis').length).toBe(3);
    expect(h.monitor.state('rtdetr')?.waitingFor).toBe('redis');
  });

  it('a restart that fails while its dependency went down waits instead of backing off; a manual restart still runs', async () => {
    h = harness(detectorNeedsRedis());
    h.monitor.start();
    await h.advance(0);
    h.manager.set('rtdetr', 'down');
    h.manager.onRestart.set('rtdetr', async (_svc, signal) => {
      await abortableDelay(2000, signal);
      return { ok: false, reason: 'exit code 1', output: 'cannot reach redis', exitCode: 1, signal: null, timedOut: false };
    });
    h.monitor.trigger('rtdetr');
    await h.advance(5500); // restart running from 5 s
    h.manager.set('redis', 'down');
    h.manager.failRestarts('redis');
    h.monitor.trigger('redis');
    await h.advance(3000);
    expect(h.timeline('rtdetr').slice(-3)).toEqual(['5000:restarting', '7000:restart_failed', '7000:unhealthy']);
    expect(h.events.at(-1)?.service === 'rtdetr' || h.events.some((e) => e.service === 'rtdetr' && e.cause === 'dependency_down')).toBe(true);
    await h.advance(60_000);
    expect(h.manager.restartTimes('rtdetr')).toEqual([5000]);
    expect(h.monitor.act('rtdetr', 'restart')).toMatchObject({ ok: true });
    await h.advance(0);
    expect(h.manager.restartTimes('rtdetr')).toHaveLength(2);
  });
});

describe('dependencies and maintenance: corner cases found in review', () => {
  it('a dependent that had given up (failed 3/3) starts again from attempt 1 once its dependency is back, and is never given up on for it', async () => {
    h = harness(testConfig({ healthCheckInterval: 10, failedRetryInterval: 0, services: [svc({ name: 'redis' }), svc({ name: 'rtdetr', dependsOn: ['redis'] })] }));
    h.manager.set('rtdetr', 'down');
    h.manager.failRestarts('rtdetr');
    h.monitor.start();
    await h.advance(40_000);
    expect(h.monitor.state('rtdetr')?.status).toBe('failed');
    h.manager.set('redis', 'down');
    h.monitor.trigger('redis');
    await h.advance(1000);
    expect(h.monitor.state('rtdetr')).toMatchObject({ status: 'unhealthy', waitingFor: 'redis' });
    h.manager.set('redis', 'up');
    h.monitor.trigger('redis');
    await h.advance(3000);
    expect(h.monitor.state('rtdetr')?.status).toBe('unhealthy'); // in its backoff before attempt 1, not failed
    await h.advance(5000);
    const last = h.events.filter((e) => e.service === 'rtdetr' && e.status === 'restarting').at(-1);
    expect(last?.message).toBe('Attempting restart (attempt 1/3)');
  });

  it("a dependent's last attempt failing while its dependency is down waits for it instead of failing", async () => {
    h = harness(testConfig({ healthCheckInterval: 10, serviceMaxRetries: 1, services: [svc({ name: 'redis' }), svc({ name: 'rtdetr', dependsOn: ['redis'] })] }));
    h.monitor.start();
    await h.advance(0);
    h.manager.set('rtdetr', 'down');
    h.manager.onRestart.set('rtdetr', async (_svc, signal) => {
      await abortableDelay(2000, signal);
      return { ok: false, reason: 'exit code 1', output: 'redis: connection refused', exitCode: 1, signal: null, timedOut: false };
    });
    h.monitor.trigger('rtdetr');
    await h.advance(5500);
    h.manager.set('redis', 'down'); // and it stays down
    h.manager.failRestarts('redis');
    h.monitor.trigger('redis');
    await h.advance(5000);
    expect(h.monitor.state('rtdetr')).toMatchObject({ status: 'unhealthy', waitingFor: 'redis' });
    expect(h.events.filter((e) => e.service === 'rtdetr').map((e) => e.status)).not.toContain('failed');
  });

  it('a service that goes down on its own has its dependencies looked at at once', async () => {
    h = harness(testConfig({ healthCheckInterval: 60, services: [svc({ name: 'redis' }), svc({ name: 'rtdetr', dependsOn: ['redis'] })] }));
    h.monitor.start();
    await h.advance(0);
    h.manager.set('redis', 'down');
    h.manager.failRestarts('redis'); // it stays down
    h.manager.set('rtdetr', 'down');
    h.monitor.trigger('rtdetr');
    await h.advance(1000);
    expect(h.manager.probeTimes('redis')).toEqual([0, 0]); // asked at once (its next look was due in 60 s)
    expect(h.monitor.state('rtdetr')?.waitingFor).toBe('redis');
    await h.advance(10_000);
    expect(h.manager.restartTimes('rtdetr')).toEqual([]);
  });

  it('a restart a previous Warden left running is followed also when Warden starts inside a maintenance window', async () => {
    h = harness(testConfig({ services: [svc({ name: 'svc' })] }));
    let adopted = 0;
    Object.assign(h.manager, { adopt: async () => (adopted++, { ok: true, output: '' }) });
    h.monitor.start(new Map([['svc', { pgid: 4242, service: 'svc', startedAt: 0, deadline: 60_000 } as never]]));
    h.monitor.setMaintenance('svc', 1_800_000, 'driver update');
    await h.advance(1000);
    expect(adopted).toBe(1);
    expect(h.monitor.state('svc')?.status).toBe('paused');
  });
});
