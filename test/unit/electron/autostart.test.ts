import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Autostart, autostartFile, launchCommand, quoteExecArg, type LaunchInfo, type LoginItems } from '../../../src-main/electron/autostart.js';

let xdg: string;
beforeEach(async () => {
  xdg = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-autostart-'));
});
afterEach(async () => {
  await fs.rm(xdg, { recursive: true, force: true });
});

function loginItems(): LoginItems & { state: { openAtLogin: boolean } } {
  const state = { openAtLogin: false };
  return { state, getLoginItemSettings: () => ({ ...state }), setLoginItemSettings: (s) => void (state.openAtLogin = s.openAtLogin) };
}
function info(extra: Partial<LaunchInfo> = {}): LaunchInfo {
  return { platform: 'linux', env: { XDG_CONFIG_HOME: xdg }, execPath: '/opt/Warden/warden', isPackaged: true, appPath: '/opt/Warden/resources/app.asar', ...extra };
}
const execLine = (text: string) => text.split('\n').find((l) => l.startsWith('Exec='));

describe('start at login on Linux: an XDG autostart entry', () => {
  it('under AppImage, Exec runs $APPIMAGE (the real file), not the temporary mount path', async () => {
    const a = new Autostart(info({ env: { XDG_CONFIG_HOME: xdg, APPIMAGE: '/home/me/Apps/Warden-0.1.0.AppImage' }, execPath: '/tmp/.mount_WardenXYZ/warden' }), loginItems());
    await a.setEnabled(true);
    const text = await fs.readFile(path.join(xdg, 'autostart', 'warden.desktop'), 'utf8');
    expect(text).toMatch(/^\[Desktop Entry\]\nType=Application\n/);
    expect(execLine(text)).toBe('Exec="/home/me/Apps/Warden-0.1.0.AppImage"');
    expect(text).toContain('\nX-GNOME-Autostart-enabled=true\n');
    expect(text).not.toContain('.mount_');
    expect(await a.isEnabled()).toBe(true);
  });

  it('for a plain install (deb, tar.gz), Exec runs process.execPath', async () => {
    const a = new Autostart(info(), loginItems());
    await a.setEnabled(true);
    expect(execLine(await fs.readFile(a.file, 'utf8'))).toBe('Exec="/opt/Warden/warden"');
  });

  it('run from source (`electron .`), Exec runs Electron with the app folder', () => {
    expect(launchCommand(info({ isPackaged: false, execPath: '/src/node_modules/electron/dist/electron', appPath: '/src' }))).toBe('"/src/node_modules/electron/dist/electron" "/src"');
  });

  it('quotes paths with spaces and escapes the characters the spec reserves', () => {
    expect(quoteExecArg('/home/me/My Apps/Warden.AppImage')).toBe('"/home/me/My Apps/Warden.AppImage"');
    expect(quoteExecArg('/a/$HOME`x"y\\z 100%')).toBe('"/a/\\\\$HOME\\\\`x\\\\"y\\\\\\\\z 100%%"');
  });

  it('disabling removes the file; a missing file or a Hidden/disabled entry is off', async () => {
    const a = new Autostart(info(), loginItems());
    expect(await a.isEnabled()).toBe(false);
    await a.setEnabled(true);
    await a.setEnabled(false);
    await expect(fs.access(a.file)).rejects.toThrow();
    expect(await a.isEnabled()).toBe(false);
    await a.setEnabled(false); // idempotent
    await fs.mkdir(path.dirname(a.file), { recursive: true });
    await fs.writeFile(a.file, '[Desktop Entry]\nExec=x\nHidden=true\n');
    expect(await a.isEnabled()).toBe(false);
    await fs.writeFile(a.file, '[Desktop Entry]\nExec=x\nX-GNOME-Autostart-enabled=false\n');
    expect(await a.isEnabled()).toBe(false);
  });

  it('the file lives in $XDG_CONFIG_HOME/autostart, else ~/.config/autostart', () => {
    expect(autostartFile({ XDG_CONFIG_HOME: '/x' })).toBe('/x/autostart/warden.desktop');
    expect(autostartFile({ HOME: '/home/me' })).toBe('/home/me/.config/autostart/warden.desktop');
  });
});

describe('start at login elsewhere: the OS login items', () => {
  it('macOS and Windows use setLoginItemSettings and write no file', async () => {
    for (const platform of ['darwin', 'win32'] as const) {
      const items = loginItems();
      const a = new Autostart(info({ platform }), items);
      await a.setEnabled(true);
      expect(items.state.openAtLogin).toBe(true);
      expect(await a.isEnabled()).toBe(true);
      await a.setEnabled(false);
      expect(await a.isEnabled()).toBe(false);
    }
    await expect(fs.readdir(xdg)).resolves.toEqual([]);
  });
});
