// `npx vite build examples/svelte`; then copy dist/jazz*.js (npm run build) beside the built
// index.html: the page loads the drop-in script as it is, and the component uses its database.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [svelte()],
  base: './',
  build: { target: 'es2022', outDir: process.env.JAZZ_EXAMPLE_OUT ?? 'dist', emptyOutDir: true },
});
