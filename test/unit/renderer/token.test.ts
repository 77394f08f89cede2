import { describe, expect, it } from 'vitest';
import { loadToken, TOKEN_KEY, tokenFromFragment, type TokenEnv } from '../../../src-renderer/api/token.js';

function env(hash: string, stored: Record<string, string> = {}, bridge?: TokenEnv['bridge']) {
  const storage = new Map(Object.entries(stored));
  const replaced: string[] = [];
  const e: TokenEnv = {
    location: { hash, pathname: '/', search: '?x=1' },
    history: { state: null, replaceState: (_s, _t, url) => void replaced.push(String(url)) },
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    bridge,
  };
  return { e, storage, replaced };
}

describe('token handling', () => {
  it('reads #token=… once, keeps it in sessionStorage and removes it from the address bar', async () => {
    const { e, storage, replaced } = env('#token=abc123');
    expect(await loadToken(e)).toBe('abc123');
    expect(storage.get(TOKEN_KEY)).toBe('abc123');
    expect(replaced).toEqual(['/?x=1']);
  });

  it('after a reload (no fragment) the token comes from sessionStorage and the URL is left alone', async () => {
    const { e, replaced } = env('#/settings', { [TOKEN_KEY]: 'kept' });
    expect(await loadToken(e)).toBe('kept');
    expect(replaced).toEqual([]);
  });

  it('in the Electron window the preload bridge is asked first', async () => {
    const sync = env('#token=fromurl', {}, { getToken: () => 'bridge-token' });
    expect(await loadToken(sync.e)).toBe('bridge-token');
    const async = env('', {}, { getToken: () => Promise.resolve('async-token') });
    expect(await loadToken(async.e)).toBe('async-token');
  });

  it('a bridge with no token falls back to the fragment', async () => {
    const { e } = env('#token=fromurl', {}, { getToken: () => '' });
    expect(await loadToken(e)).toBe('fromurl');
  });

  it('no token anywhere is null', async () => {
    expect(await loadToken(env('').e)).toBeNull();
  });

  it('parses the fragment as parameters', () => {
    expect(tokenFromFragment('#token=a%2Bb&x=1')).toBe('a+b');
    expect(tokenFromFragment('#token=')).toBeNull();
    expect(tokenFromFragment('')).toBeNull();
  });
});
