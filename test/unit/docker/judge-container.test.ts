import { describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import { describeDockerError, judgeContainer } from '../../../src-main/core/managers/docker-service-manager.js';

type State = Dockerode.ContainerInspectInfo['State'];

/** A `State` as dockerd 20.10 reports it for a running container, with overrides. */
function state(over: Partial<State>): State {
  return {
    Status: 'running',
    Running: true,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 42,
    ExitCode: 0,
    Error: '',
    StartedAt: '2025-01-01T00:00:00Z',
    FinishedAt: '0001-01-01T00:00:00Z',
    ...over,
  };
}

// The docker:// row of CONTRACT §2 for the states the integration suite cannot produce on demand.
describe('judgeContainer', () => {
  it('a container Docker is restarting (restart policy) is down', () => {
    expect(judgeContainer(state({ Status: 'restarting', Restarting: true, Running: true }))).toEqual(['down', 'container restarting']);
  });

  it('an OOM-killed container is down and says so', () => {
    expect(judgeContainer(state({ Status: 'exited', Running: false, ExitCode: 137, OOMKilled: true }))).toEqual([
      'down',
      'container exited (code 137, OOM killed)',
    ]);
  });

  it('a dead container is down with its code', () => {
    expect(judgeContainer(state({ Status: 'dead', Running: false, Dead: true, ExitCode: 1 }))).toEqual(['down', 'container dead (code 1)']);
  });

  it('a created, never started container is down', () => {
    expect(judgeContainer(state({ Status: 'created', Running: false }))).toEqual(['down', 'container created']);
  });

  it('health "none" (HEALTHCHECK NONE) counts as no health check', () => {
    expect(judgeContainer(state({ Health: { Status: 'none', FailingStreak: 0, Log: [] } }))).toEqual(['up', 'container running']);
  });

  it('unhealthy without a check log is down with just the state', () => {
    expect(judgeContainer(state({ Health: { Status: 'unhealthy', FailingStreak: 3, Log: [] } }))).toEqual(['down', 'container health unhealthy']);
  });

  it('keeps only the first line of the last check output, shortened', () => {
    const Output = `${'x'.repeat(300)}\nsecond line`;
    const [, reason] = judgeContainer(state({ Health: { Status: 'unhealthy', FailingStreak: 1, Log: [{ Start: '', End: '', ExitCode: 1, Output }] } }));
    expect(reason).toBe(`container health unhealthy: ${'x'.repeat(117)}...`);
  });
});

describe('describeDockerError', () => {
  it('names a refused connection as the daemon not being reachable', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED /run/docker.sock'), { code: 'ECONNREFUSED' });
    expect(describeDockerError(err, 'web')).toBe('Docker daemon not reachable: connect ECONNREFUSED /run/docker.sock');
  });

  it('falls back to the error message when the daemon sent no JSON', () => {
    const err = Object.assign(new Error('(HTTP code 500) server error - boom '), { statusCode: 500 });
    expect(describeDockerError(err, 'web')).toBe('(HTTP code 500) server error - boom');
  });

  it('an unknown socket error code is passed through as its message', () => {
    expect(describeDockerError(Object.assign(new Error('odd'), { code: 'EWEIRD' }), 'web')).toBe('odd');
  });
});
