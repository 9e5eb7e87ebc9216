import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The portal's build (`node portal/build.ts`). The BFF serves the HTML pages at /portal/... (routes,
 * with their security headers) and every other file at /assets/portal/... (its static files), so
 * the pages load their scripts and styles from there. See docs/decisions/0010-portal-and-partner-demo.md.
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/assets/portal/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Flat: the BFF serves each file as /assets/portal/<name>.
    assetsDir: '',
    // No data: URLs, so the pages' Content-Security-Policy can stay 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    rolldownOptions: {
      input: {
        index: `${root}index.html`,
        'silent-check-sso': `${root}silent-check-sso.html`,
        'super-component': `${root}super-component.html`,
      },
    },
  },
});
