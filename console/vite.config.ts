import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

/**
 * `npm run dev -w console` serves the console with hot reload and forwards the hub's endpoints to a running hub
 * (`npm start` in another terminal), so the page talks to `/ws` and `/api` on its own origin exactly as in production.
 * HUB_URL picks another hub.
 */
const hub = process.env.HUB_URL ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      '/api': { target: hub, changeOrigin: true },
      '/healthz': { target: hub, changeOrigin: true },
      '/ws': { target: hub.replace(/^http/, 'ws'), ws: true, changeOrigin: true },
    },
  },
});
