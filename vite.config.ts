import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dashboard is built into dist/renderer; the embedded server serves it to browsers and
// to the tray app's windows alike.
export default defineConfig({
  root: 'src-renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../dist/renderer', emptyOutDir: true, sourcemap: true },
});
