import type { WardenBridge } from '../bridge.js';

/** sessionStorage key of the API token: survives reloads of this tab, never written to disk. */
export const TOKEN_KEY = 'warden.token';

/** The parts of the browser the token lookup touches (injected in tests). */
export interface TokenEnv {
  location: Pick<Location, 'hash' | 'pathname' | 'search'>;
  history: Pick<History, 'replaceState' | 'state'>;
  storage: Pick<Storage, 'getItem' | 'setItem'>;
  bridge?: WardenBridge;
}

/** The `token` value of a `#token=…` fragment, if any. */
export function tokenFromFragment(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token');
  return token ? token : null;
}

/**
 * The API token: from the Electron preload bridge when there is one; else from the `#token=…`
 * fragment (read once, kept in sessionStorage and removed from the address bar so it is not
 * bookmarked, shared or shown); else from sessionStorage (a reload). Null when there is none.
 */
export async function loadToken(env: TokenEnv): Promise<string | null> {
  if (env.bridge) {
    const fromBridge = await env.bridge.getToken();
    if (fromBridge) return fromBridge;
  }
  const fromFragment = tokenFromFragment(env.location.hash);
  if (fromFragment) {
    env.storage.setItem(TOKEN_KEY, fromFragment);
    env.history.replaceState(env.history.state, '', `${env.location.pathname}${env.location.search}`);
    return fromFragment;
  }
  return env.storage.getItem(TOKEN_KEY);
}

/** The real browser's environment. */
export function browserTokenEnv(): TokenEnv {
  return { location: window.location, history: window.history, storage: window.sessionStorage, bridge: window.warden };
}
