import { describe, expect, it } from 'vitest';
import { listenAddressOf, normaliseUrl, parseHealthUrl, requestTarget } from '../../../src-shared/health-url.js';

const target = (raw: string): string => requestTarget(normaliseUrl(raw));
const reason = (raw: string): string => {
  try {
    parseHealthUrl(raw);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${raw} parsed`);
};

describe('parseHealthUrl: http(s) paths', () => {
  it('never produces //health: duplicate and trailing slashes go', () => {
    expect(target('http://h:8090//health/')).toBe('/health');
    expect(target('http://h:8090/health/')).toBe('/health');
    expect(target('http://h:8090///api//v1///health')).toBe('/api/v1/health');
  });

  it('keeps the root as "/", with or without a slash', () => {
    expect(target('http://h:8090/')).toBe('/');
    expect(target('http://h:8090')).toBe('/');
    expect(target('http://h:8090//')).toBe('/');
  });

  it('keeps the query string and leaves a clean path alone', () => {
    expect(target('http://h:8090//health/?full=1&x=a//b')).toBe('/health?full=1&x=a//b');
    expect(target('https://h/health')).toBe('/health');
  });

  it('keeps scheme, host and port, and trims surrounding blanks', () => {
    const url = normaliseUrl('  https://example.test:8443//ready/  ');
    expect(url.origin).toBe('https://example.test:8443');
    expect(url.pathname).toBe('/ready');
  });

  it('normaliseUrl refuses what is not http(s)', () => {
    expect(() => normaliseUrl('not a url')).toThrow(TypeError);
    expect(() => normaliseUrl('tcp://h:1')).toThrow('not an http(s):// URL');
  });
});

describe('parseHealthUrl: redis, tcp, docker', () => {
  it('reads host, port, user and percent-decoded password; defaults to port 6379', () => {
    expect(parseHealthUrl('redis://localhost')).toEqual({ scheme: 'redis', host: 'localhost', port: 6379 });
    expect(parseHealthUrl('redis://:p%40ss@10.0.0.1:6380/2')).toEqual({ scheme: 'redis', host: '10.0.0.1', port: 6380, password: 'p@ss' });
    expect(parseHealthUrl('REDIS://bob:pw@[::1]:7000')).toEqual({ scheme: 'redis', host: '::1', port: 7000, username: 'bob', password: 'pw' });
  });

  it('reads tcp host and port, IPv6 brackets removed, and a docker container', () => {
    expect(parseHealthUrl('tcp://127.0.0.1:9000')).toEqual({ scheme: 'tcp', host: '127.0.0.1', port: 9000 });
    expect(parseHealthUrl('tcp://[::1]:22/')).toEqual({ scheme: 'tcp', host: '::1', port: 22 });
    expect(parseHealthUrl('docker://rtdetr')).toEqual({ scheme: 'docker', container: 'rtdetr' });
  });
});

describe('parseHealthUrl: what cannot be probed is refused with the reason (CONTRACT §9.10)', () => {
  it.each([
    ['http://127.0.0.1:99999/health', 'port 99999 is out of range (1–65535)'],
    ['redis://:%zz@h:6379', 'bad percent-encoding in the password (write % as %25)'],
    ['redis://%zz:pw@h:6379', 'bad percent-encoding in the user name (write % as %25)'],
    ['http://[::1/health', 'unclosed "[" in the host (IPv6 looks like [::1]:8090)'],
    ['http://127.0.0.1:0/health', 'port 0 cannot be probed (use 1–65535)'],
    ['tcp://127.0.0.1', 'tcp:// needs a port (tcp://host:port)'],
    ['redis:///0', 'redis:// URL has no host'],
    ['http://h/a b', 'must not contain spaces'],
    ['http://ex ample/', 'must not contain spaces'],
    ['http://a:b:c/', 'is not a valid URL'],
    ['docker://', 'docker:// needs a container name (docker://NAME)'],
    ['ftp://h/health', 'must be http(s)://, redis://, tcp://host:port, docker://container or systemd://unit'],
    ['localhost:8090', 'must be http(s)://, redis://, tcp://host:port, docker://container or systemd://unit'],
  ])('%s: %s', (url, why) => {
    expect(reason(url)).toBe(why);
  });
});

describe('listenAddressOf', () => {
  it('derives host and port from each probe scheme', () => {
    expect(listenAddressOf('http://127.0.0.1:8090//health/')).toEqual({ host: '127.0.0.1', port: 8090 });
    expect(listenAddressOf('http://localhost/health')).toEqual({ host: 'localhost', port: 80 });
    expect(listenAddressOf('https://[::1]/h')).toEqual({ host: '::1', port: 443 });
    expect(listenAddressOf('redis://:pw@127.0.0.1:6380/0')).toEqual({ host: '127.0.0.1', port: 6380 });
    expect(listenAddressOf('tcp://127.0.0.1:22')).toEqual({ host: '127.0.0.1', port: 22 });
    expect(listenAddressOf('docker://redis')).toBeNull();
    expect(listenAddressOf('tcp://nohost')).toBeNull();
  });
});
