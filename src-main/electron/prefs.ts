import fs from 'node:fs';
import type { Rectangle } from 'electron';
import type { BoundsStore, WindowKind } from './windows.js';

/** Tray-only UI preferences (the Warden settings themselves live in the core's config.json). */
export interface TrayPrefs {
  windows: Partial<Record<WindowKind, Rectangle>>;
}

const rectangle = {
  type: 'object',
  properties: { x: { type: 'integer' }, y: { type: 'integer' }, width: { type: 'integer', minimum: 200 }, height: { type: 'integer', minimum: 200 } },
  required: ['x', 'y', 'width', 'height'],
  additionalProperties: false,
} as const;

/** The JSON schema electron-store validates the prefs file against. */
export const PREFS_SCHEMA = {
  windows: {
    type: 'object',
    properties: { dashboard: rectangle, settings: rectangle },
    additionalProperties: false,
    default: {},
  },
} as const;

/** The bits of an electron-store (or conf) instance Warden uses. */
export interface PrefsStore {
  get<K extends keyof TrayPrefs>(key: K): TrayPrefs[K];
  set<K extends keyof TrayPrefs>(key: K, value: TrayPrefs[K]): void;
}

/** An opened prefs store, and where a corrupt file was moved, if it was. */
export interface OpenedPrefs {
  store: PrefsStore;
  quarantinedTo?: string;
  error?: Error;
}

/**
 * Open the prefs store. electron-store (with `clearInvalidConfig: false`) throws on a file that is
 * not JSON or breaks the schema; then the file is moved aside to `<file>.bad-<time>` — never
 * silently lost (CONTRACT §1) — and a fresh store is opened.
 */
export function openPrefs(create: () => PrefsStore, file: string, now: () => Date = () => new Date()): OpenedPrefs {
  try {
    return { store: create() };
  } catch (err) {
    if (!fs.existsSync(file)) throw err;
    const aside = `${file}.bad-${now().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(file, aside);
    return { store: create(), quarantinedTo: aside, error: err as Error };
  }
}

/** Window bounds kept in the prefs store. */
export function boundsStore(store: PrefsStore): BoundsStore {
  return {
    bounds: (kind) => store.get('windows')[kind],
    saveBounds: (kind, bounds) => {
      const { x, y, width, height } = bounds;
      store.set('windows', { ...store.get('windows'), [kind]: { x, y, width: Math.max(200, width), height: Math.max(200, height) } });
    },
  };
}
