// Bundles the CLI (`warden serve` and the client commands) into one file, written over tsc's
// dist/src-main/cli/warden.js, so the path in the bin, the README and the benchmarks stays the same.
//
// Why (issue 16, bench/footprint.ts): run unbundled, `warden serve` loads some 320 modules, and V8
// keeps each one's source text, comments included, for lazy compilation. One file without comments
// or indentation, and without zod's 63 translations, is about 8 MB less RSS at 50 services.
//
// Usage: node scripts/bundle-cli.mjs   (npm run build runs it after tsc, which it needs: the bundle
// points into the compiled tree). It also writes warden.js.meta.json, esbuild's account of the
// inputs and imports. The bundle stays in dist/: the packages left outside it are found from there.
//
// A bundled package finds files relative to the bundle (its __dirname is dist/src-main/cli), so
// one that loads a file of its own at run time would not find it: pino's transports (a worker
// file) are such a case, which is why Warden logs through pino.destination only (core/log/logger.ts).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Where tsc puts the compiled tree that a bundled module's own URL must still point into.
const DIST = path.join(ROOT, 'dist');
const OUTFILE = path.join(DIST, 'src-main', 'cli', 'warden.js');

/**
 * Packages loaded on first use (src-main/core/lazy-modules.ts) stay outside the bundle, so that
 * they still cost nothing until a configuration needs them.
 */
const LAZY = ['dockerode', 'dbus-next', 'undici', 'execa', 'nodemailer'];

/**
 * Inside a bundle, `import.meta.url` is the bundle's URL. Warden's modules use theirs to find
 * what lies next to them in dist/ (the dashboard, ai/, the demo's scripts, whether a module is the
 * one Node was started with), so each one's `import.meta.url` becomes the URL its compiled file has
 * in dist/, relative to the bundle, wherever the bundle is moved with dist/.
 */
const ownModuleUrls = {
  name: 'own-module-urls',
  setup(b) {
    b.onLoad({ filter: /[\\/]src-(main|shared)[\\/].*\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const own = path.relative(ROOT, args.path);
      // Only the plain `import.meta.url` is rewritten: any other form would silently get the bundle's.
      if (/import\.meta(?!\.url\b)/.test(source)) throw new Error(`${own}: only import.meta.url can be bundled (write it so)`);
      if (!source.includes('import.meta.url')) return undefined;
      const compiled = path.join(DIST, own).replace(/\.ts$/, '.js');
      if (!existsSync(compiled)) throw new Error(`${own}: ${path.relative(ROOT, compiled)} is missing: run tsc -p tsconfig.node.json first`);
      const relative = path.relative(path.dirname(OUTFILE), compiled).split(path.sep).join('/');
      const url = `new URL(${JSON.stringify(relative)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

/**
 * zod's namespace re-exports all of its translations (`export * as locales`), so a bundle holds
 * every one. Warden's messages are English, and zod sets English itself (zod/v4/classic/schemas.js).
 */
const englishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir)
        ? { path: 'english-only', namespace: 'zod-locales', pluginData: path.join(args.resolveDir, '..', 'locales') }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};

const result = await build({
  absWorkingDir: ROOT, // the metafile's paths are relative to it
  entryPoints: [path.join(ROOT, 'src-main', 'cli', 'warden.ts')],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  tsconfig: path.join(ROOT, 'tsconfig.node.json'),
  external: LAZY,
  // Whitespace and syntax only: names stay, so a stack trace still reads; the linked source map
  // (`node --enable-source-maps`) gives the .ts lines.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  sourcemap: 'linked',
  sourcesContent: false,
  // The CommonJS packages inside (ws, pino, prom-client, write-file-atomic) call require() for
  // Node's own modules, and write-file-atomic seeds its temporary names with __filename.
  banner: {
    js: [
      "import { createRequire as __wardenCreateRequire } from 'node:module';",
      "import { fileURLToPath as __wardenFileURLToPath } from 'node:url';",
      'const require = __wardenCreateRequire(import.meta.url);',
      'const __filename = __wardenFileURLToPath(import.meta.url);',
      "const __dirname = __wardenFileURLToPath(new URL('.', import.meta.url));",
    ].join(' '),
  },
  plugins: [ownModuleUrls, englishOnly],
  logLevel: 'warning',
  metafile: true,
});
// What went into the bundle and what it imports (esbuild's metafile: open it in esbuild's bundle
// analyser to see what each package costs); the tests check its imports.
await writeFile(`${OUTFILE}.meta.json`, JSON.stringify(result.metafile));
