import { defineConfig } from 'vite';

// The tray windows are sandboxed, and a sandboxed preload can neither `import` ES modules nor
// load other files: bundle src-main/electron/preload.ts (and the one constant it imports) into a
// single CommonJS file, dist/preload/preload.cjs, with `electron` left to the preload's require.
export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist/preload',
    emptyOutDir: true,
    minify: false,
    sourcemap: false,
    target: 'chrome140',
    lib: { entry: 'src-main/electron/preload.ts', formats: ['cjs'], fileName: () => 'preload.cjs' },
    rollupOptions: { external: ['electron'] },
  },
});
