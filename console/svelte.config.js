import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * A static single-page app: the hub serves `build/` and answers every client route with `index.html`
 * (the SPA fallback), so there is no Node server of the console's own in production.
 * @type {import('@sveltejs/kit').Config}
 */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: {
    // Runes everywhere in our code; libraries in node_modules keep whatever mode they were written in.
    runes: ({ filename }) => (filename.split(/[/\\]/).includes('node_modules') ? undefined : true),
  },
  kit: {
    // The audience page registers the service worker itself, scoped to /live/ (lib/push/push-client.ts): the
    // console's other pages have no use for it.
    serviceWorker: { register: false },
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', precompress: false, strict: true }),
    // The token lives in sessionStorage, so no script but our own may run: SvelteKit hashes its inline bootstrap
    // into a CSP meta tag. Styles allow inline attributes (Svelte's style: directives, Chart.js sizing the canvas).
    // The hub adds `frame-ancestors 'none'` as a header (a meta tag cannot carry it).
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:'],
        'font-src': ['self'],
        'connect-src': ['self'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
      },
    },
  },
};

export default config;
