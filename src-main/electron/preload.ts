// Runs in every Warden window before the dashboard's own scripts. The window is sandboxed, so
// this file is bundled into one CommonJS file (vite.preload.config.ts → dist/preload/preload.cjs):
// sandboxed preloads can `require('electron')` but cannot load other files or ES modules.
import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_KEY, TOKEN_CHANNEL, type WardenBridge } from './ipc-contract.js';

// Only a typed function that invokes one fixed channel: the page never sees ipcRenderer itself
// (templates that expose `ipcRenderer.invoke(anyChannel)` hand the page the whole main process).
const bridge: WardenBridge = {
  getToken: () => ipcRenderer.invoke(TOKEN_CHANNEL) as Promise<string>,
};

contextBridge.exposeInMainWorld(BRIDGE_KEY, bridge);
