// The tray app's entry point (package.json "main" → dist/src-main/electron/main.js). Kept thin:
// everything testable lives in app-controller.ts and the modules it composes.
import { app, dialog } from 'electron';
import Store from 'electron-store';
import { bootstrap } from './app-controller.js';
import { PREFS_SCHEMA, type PrefsStore, type TrayPrefs } from './prefs.js';
import { holdYoungGenerationSmall } from '../core/young-generation.js';

// The first statement: the app's start-up (the monitor's first rounds, the windows) runs under it; its
// modules are loaded by now (static imports), unlike `warden serve`'s (see the module).
holdYoungGenerationSmall();

bootstrap({
  env: process.env,
  platform: process.platform,
  isPackaged: app.isPackaged,
  appPath: app.getAppPath(),
  resourcesPath: process.resourcesPath,
  execPath: process.execPath,
  // clearInvalidConfig: false → a corrupt file throws, and openPrefs moves it aside.
  createPrefsStore: (cwd) => new Store<TrayPrefs>({ cwd, name: 'tray-prefs', schema: PREFS_SCHEMA, clearInvalidConfig: false }) as PrefsStore,
}).catch((err: unknown) => {
  dialog.showErrorBox('Warden could not start', err instanceof Error ? (err.stack ?? err.message) : String(err));
  app.exit(1);
});
