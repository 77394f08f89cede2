/** What the Electron preload exposes to the dashboard window (absent in a plain browser). */
export interface WardenBridge {
  /** The API token of the embedded server. */
  getToken(): string | Promise<string>;
}

declare global {
  interface Window {
    warden?: WardenBridge;
  }
}
