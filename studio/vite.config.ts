import { defineConfig } from 'vite';

// The built app is static files: `scripts/studio` serves `dist/` on 127.0.0.1:3000.
export default defineConfig({
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { host: '127.0.0.1', port: 3000, strictPort: true },
});
