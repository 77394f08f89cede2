import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * argv that runs one of the product's own scripts with Node, given its path relative to this
 * file written with `.js`: compiled (`dist/…/x.js`) → [node, x.js]; from sources (this file is
 * `.ts`, run by tsx or vitest) → [node, --import, <tsx loader>, x.ts].
 */
export function nodeScriptArgv(relativeFromThisFile: string, fromUrl: string = import.meta.url): string[] {
  if (!fromUrl.endsWith('.ts')) return [process.execPath, fileURLToPath(new URL(relativeFromThisFile, fromUrl))];
  const source = fileURLToPath(new URL(relativeFromThisFile.replace(/\.js$/, '.ts'), fromUrl));
  // An absolute loader URL, so the script also starts from a working directory without node_modules.
  const tsx = pathToFileURL(createRequire(fromUrl).resolve('tsx')).href;
  return [process.execPath, '--import', tsx, source];
}
