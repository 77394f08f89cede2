/** The one IPC channel between the preload and the main process: "give me the API token". */
export const TOKEN_CHANNEL = 'warden:get-token';

/** The key under which the preload exposes its bridge on `window` (read by src-renderer/bridge.ts). */
export const BRIDGE_KEY = 'warden';

/** What the preload exposes to the dashboard window: nothing but the token getter. */
export interface WardenBridge {
  /** The embedded server's API token; the main process answers only this server's own pages. */
  getToken(): Promise<string>;
}
