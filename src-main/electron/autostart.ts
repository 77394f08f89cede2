import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** What decides how Warden is started at login. */
export interface LaunchInfo {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  /** process.execPath: the Electron binary (under AppImage, a temporary mount path). */
  execPath: string;
  isPackaged: boolean;
  /** app.getAppPath(): the project folder when run with `electron .`. */
  appPath: string;
}

/** The OS login-item API (macOS, Windows): Electron's app.{get,set}LoginItemSettings. */
export interface LoginItems {
  getLoginItemSettings(): { openAtLogin: boolean };
  setLoginItemSettings(settings: { openAtLogin: boolean }): void;
}

/** `$XDG_CONFIG_HOME/autostart/warden.desktop` (default `~/.config/autostart/warden.desktop`). */
export function autostartFile(env: Record<string, string | undefined>): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'autostart', 'warden.desktop');
}

/** One argument of a desktop entry's Exec key, quoted and escaped as the spec requires. */
export function quoteExecArg(arg: string): string {
  // Inside quotes, " ` $ \ take a backslash; then the string-level escape doubles every
  // backslash; a literal % is written %% (field codes).
  const quoted = `"${arg.replace(/["`$\\]/g, '\\$&')}"`;
  return quoted.replace(/\\/g, '\\\\').replace(/%/g, '%%');
}

/**
 * The command that starts this Warden again. Under AppImage, process.execPath is the temporary
 * mount (/tmp/.mount_Warden…/warden), gone after exit: the AppImage runtime puts the real file in
 * $APPIMAGE. Run from source (`electron .`), the Electron binary needs the app folder.
 */
export function launchCommand(info: LaunchInfo): string {
  if (info.env.APPIMAGE) return quoteExecArg(info.env.APPIMAGE);
  if (!info.isPackaged) return `${quoteExecArg(info.execPath)} ${quoteExecArg(info.appPath)}`;
  return quoteExecArg(info.execPath);
}

/** An XDG autostart desktop entry that runs `exec`. */
export function desktopEntry(exec: string): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    'Name=Warden',
    'Comment=Keeps the AI services alive: health checks, restarts, tray status',
    `Exec=${exec}`,
    'Icon=warden',
    'Terminal=false',
    'Categories=Utility;System;Monitor;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** Start at login: an XDG autostart file on Linux, the OS login items elsewhere. */
export class Autostart {
  constructor(
    private readonly info: LaunchInfo,
    private readonly loginItems: LoginItems,
  ) {}

  get file(): string {
    return autostartFile(this.info.env);
  }

  async isEnabled(): Promise<boolean> {
    if (this.info.platform !== 'linux') return this.loginItems.getLoginItemSettings().openAtLogin;
    try {
      const text = await fs.readFile(this.file, 'utf8');
      // A user (or GNOME's Startup Applications) may disable the entry without deleting it.
      return !/^Hidden\s*=\s*true\s*$/im.test(text) && !/^X-GNOME-Autostart-enabled\s*=\s*false\s*$/im.test(text);
    } catch {
      return false;
    }
  }

  async setEnabled(enabled: boolean): Promise<void> {
    if (this.info.platform !== 'linux') {
      this.loginItems.setLoginItemSettings({ openAtLogin: enabled });
      return;
    }
    if (!enabled) {
      await fs.rm(this.file, { force: true });
      return;
    }
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    await fs.writeFile(this.file, desktopEntry(launchCommand(this.info)), { mode: 0o644 });
  }
}
