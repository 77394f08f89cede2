import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TcpProbe } from '../../../src-main/core/probes/tcp-probe.js';
import { freePort, pollUntil } from '../../helpers/redis-server.js';
import { startStalledListener } from '../../helpers/stalled-listener.js';

describe('TcpProbe', () => {
  it('is up when a connection is accepted, and closes that connection', async () => {
    let closed = 0;
    const server = createServer((socket) => socket.on('close', () => closed++));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const probe = new TcpProbe({ host: '127.0.0.1', port: (server.address() as { port: number }).port }, 2000);
      expect(await probe.check()).toMatchObject({ state: 'up', reason: 'connection accepted' });
      await pollUntil(async () => (closed === 1 ? true : undefined), 'the probe to close its connection');
      await probe.close();
    } finally {
      server.close();
    }
  });

  it('is down "connection refused" on a port nobody listens on', async () => {
    const probe = new TcpProbe({ host: '127.0.0.1', port: await freePort() }, 2000);
    expect(await probe.check()).toMatchObject({ state: 'down', reason: 'connection refused' });
  });

  it('is down "timeout after N ms" when the connect hangs', async () => {
    const stalled = await startStalledListener();
    try {
      const probe = new TcpProbe({ host: '127.0.0.1', port: stalled.port }, 300);
      expect(await probe.check()).toMatchObject({ state: 'down', reason: 'timeout after 300 ms' });
    } finally {
      await stalled.stop();
    }
  });

  it('is down "aborted" when the caller aborts, and "probe closed" after close()', async () => {
    const stalled = await startStalledListener();
    try {
      const probe = new TcpProbe({ host: '127.0.0.1', port: stalled.port }, 5000);
      expect(await probe.check(AbortSignal.abort())).toMatchObject({ state: 'down', reason: 'aborted' });
      await probe.close();
      expect(await probe.check()).toMatchObject({ state: 'down', reason: 'probe closed' });
    } finally {
      await stalled.stop();
    }
  });
});
