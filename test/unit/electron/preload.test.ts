import { beforeAll, describe, expect, it, vi } from 'vitest';
import { exposed, invoked } from './fake-electron.js';
import { TOKEN_CHANNEL, type WardenBridge } from '../../../src-main/electron/ipc-contract.js';
import type { WardenBridge as RendererBridge } from '../../../src-renderer/bridge.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

beforeAll(async () => {
  await import('../../../src-main/electron/preload.js');
});

describe('preload bridge', () => {
  it('exposes exactly one key, "warden", holding exactly one function, getToken', () => {
    expect(Object.keys(exposed)).toEqual(['warden']);
    const bridge = exposed.warden as Record<string, unknown>;
    expect(Object.keys(bridge)).toEqual(['getToken']);
    expect(typeof bridge.getToken).toBe('function');
  });

  it('getToken invokes the one token channel and nothing else', async () => {
    const bridge = exposed.warden as WardenBridge;
    await expect(bridge.getToken()).resolves.toBe(`token-from-${TOKEN_CHANNEL}`);
    await bridge.getToken();
    expect(invoked).toEqual([TOKEN_CHANNEL, TOKEN_CHANNEL]);
  });

  it("matches the dashboard's view of the bridge (checked at compile time)", () => {
    const bridge: RendererBridge = exposed.warden as WardenBridge;
    expect(bridge).toBeDefined();
  });
});
