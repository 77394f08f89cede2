import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProbe } from '../../../src-main/core/probes/create-probe.js';
import { HttpProbe } from '../../../src-main/core/probes/http-probe.js';
import { ProbeRegistry } from '../../../src-main/core/probes/probe-registry.js';
import { RedisProbe } from '../../../src-main/core/probes/redis-probe.js';
import { TcpProbe } from '../../../src-main/core/probes/tcp-probe.js';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((_req, res) => res.end('OK'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

describe('createProbe', () => {
  it('chooses the probe by scheme, case-insensitively', async () => {
    const probes = [
      createProbe('http://127.0.0.1:8090/health', 1000),
      createProbe('HTTPS://127.0.0.1:8443/health', 1000),
      createProbe('redis://127.0.0.1:6379', 1000),
      createProbe('tcp://127.0.0.1:22', 1000),
    ];
    expect(probes.map((p) => p.constructor)).toEqual([HttpProbe, HttpProbe, RedisProbe, TcpProbe]);
    await Promise.all(probes.map((p) => p.close()));
  });

  it('normalises http URLs: a trailing slash still reaches /health', async () => {
    const seen: string[] = [];
    server.once('request', (req) => seen.push(req.url ?? ''));
    const probe = createProbe(`${base}//health/`, 2000);
    expect((await probe.check()).state).toBe('up');
    expect(seen).toEqual(['/health']);
    await probe.close();
  });

  it('says docker:// belongs to the docker strategy', () => {
    expect(() => createProbe('docker://rtdetr', 1000)).toThrow('docker:// health needs the docker strategy');
  });

  it('rejects unknown schemes and strings without one', () => {
    const forms = 'must be http(s)://, redis://, tcp://host:port, docker://container or systemd://unit';
    expect(() => createProbe('ftp://h/health', 1000)).toThrow(`invalid health URL "ftp://h/health": ${forms}`);
    expect(() => createProbe('localhost:8090', 1000)).toThrow(forms);
    expect(() => createProbe('', 1000)).toThrow(forms);
  });

  it('rejects malformed URLs of a known scheme with the reason', () => {
    expect(() => createProbe('http://', 1000)).toThrow(/^invalid health URL "http:\/\/"/);
    expect(() => createProbe('tcp://127.0.0.1', 1000)).toThrow('invalid health URL "tcp://127.0.0.1": tcp:// needs a port (tcp://host:port)');
    expect(() => createProbe('redis:///0', 1000)).toThrow(/invalid health URL .*no host/);
    expect(() => createProbe('http://127.0.0.1:99999/health', 1000)).toThrow('port 99999 is out of range');
  });
});

describe('ProbeRegistry', () => {
  const service = (over: Partial<{ healthUrl: string; serviceHealthTimeout: number }> = {}) => ({
    name: 'rtdetr',
    healthUrl: `${base}/health`,
    serviceHealthTimeout: 5,
    ...over,
  });

  it('keeps one probe per service while its URL and timeout stay the same', async () => {
    const registry = new ProbeRegistry();
    const probe = registry.get(service());
    expect(registry.get(service())).toBe(probe);
    expect(registry.get({ ...service(), name: 'nemotron' })).not.toBe(probe);
    await registry.close();
  });

  it('rebuilds the probe, closing the old one, when the URL or the timeout changes', async () => {
    const registry = new ProbeRegistry();
    const first = registry.get(service());
    const second = registry.get(service({ healthUrl: `${base}/health?v=2` }));
    expect(second).not.toBe(first);
    expect(await first.check()).toMatchObject({ state: 'down', reason: 'probe closed' });
    const third = registry.get(service({ healthUrl: `${base}/health?v=2`, serviceHealthTimeout: 0.3 }));
    expect(third).not.toBe(second);
    expect(await second.check()).toMatchObject({ state: 'down', reason: 'probe closed' });
    expect((await third.check()).state).toBe('up');
    await registry.close();
  });

  it('forget() closes and drops one service; close() closes them all', async () => {
    const registry = new ProbeRegistry();
    const a = registry.get(service());
    const b = registry.get({ ...service(), name: 'redis', healthUrl: 'redis://127.0.0.1:6379' });
    await registry.forget('rtdetr');
    await registry.forget('never-registered');
    expect((await a.check()).reason).toBe('probe closed');
    expect(registry.get(service())).not.toBe(a);
    await registry.close();
    expect((await b.check()).reason).toBe('probe closed');
  });

  it('throws like createProbe on a bad URL and keeps the previous probe', async () => {
    const registry = new ProbeRegistry();
    const probe = registry.get(service());
    expect(() => registry.get(service({ healthUrl: 'docker://rtdetr' }))).toThrow(/docker strategy/);
    expect(registry.get(service())).toBe(probe);
    await registry.close();
  });
});
