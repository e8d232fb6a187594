// The console's build (issue 15 item 3): React compiled by Vite into web/dist, served by
// `switchboard serve` under /console (src/api/routes/console.ts), same origin, no CDN at run time.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything the page needs ships in dist: fonts and icons are inlined or bundled, nothing is fetched from elsewhere.
    assetsInlineLimit: 8192,
    sourcemap: true,
    // Vega and Vega-Lite (the day's charts) are one lazily loaded chunk of about 1 MB: expected.
    chunkSizeWarningLimit: 1600,
  },
  server: {
    // `npm run dev:console` proxies the API to a running `switchboard serve` on :3000.
    proxy: { '/v1': 'http://127.0.0.1:3000', '/console/api': 'http://127.0.0.1:3000' },
  },
});
