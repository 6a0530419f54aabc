import path from 'node:path';
import { defineConfig } from 'vite';

// The console is built into dist/web, which Custos serves at / (src/console/routes.ts).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: { outDir: path.resolve(import.meta.dirname, '..', 'dist', 'web'), emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
