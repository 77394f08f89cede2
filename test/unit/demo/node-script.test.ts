import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeScriptArgv } from '../../../src-main/demo/node-script.js';

describe('nodeScriptArgv', () => {
  it('runs a compiled script directly with this Node', () => {
    expect(nodeScriptArgv('./stand-in-cli.js', 'file:///opt/warden/dist/src-main/demo/node-script.js')).toEqual([
      process.execPath,
      '/opt/warden/dist/src-main/demo/stand-in-cli.js',
    ]);
  });

  it('runs the .ts source through tsx when running from sources', () => {
    const argv = nodeScriptArgv('./stand-in-cli.js');
    expect(argv).toHaveLength(4);
    expect(argv.slice(0, 2)).toEqual([process.execPath, '--import']);
    expect(argv[2]).toMatch(/^file:\/\/.*\/node_modules\/tsx\/.*\.mjs$/);
    expect(argv[3]).toMatch(/\/src-main\/demo\/stand-in-cli\.ts$/);
    expect(existsSync(argv[3] ?? '')).toBe(true);
  });
});
