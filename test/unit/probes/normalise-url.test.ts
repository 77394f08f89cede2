import { describe, expect, it } from 'vitest';
import { normaliseUrl, requestTarget } from '../../../src-main/core/probes/normalise-url.js';

const target = (raw: string): string => requestTarget(normaliseUrl(raw));

describe('normaliseUrl', () => {
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

  it('throws on a string that is not a URL', () => {
    expect(() => normaliseUrl('not a url')).toThrow(TypeError);
  });
});
