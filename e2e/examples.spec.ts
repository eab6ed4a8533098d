/**
 * The framework examples as their users meet them, in Chromium: examples/vue/ (no build step: Vue's
 * browser build through an import map, and the drop-in jazz.js) and examples/svelte/ (built with
 * Vite and the Svelte plugin, the drop-in jazz.js beside it). In both, rows written through the
 * framework's own form appear in its reactive list, a `<jazz-count>` inside the framework's markup
 * counts with it, a toggle moves both, and the data is still there after a reload (OPFS).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { serveDist, type StaticDist } from './support/static-dist.ts';

/** Every file under `dir`, by its path relative to it. */
function filesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

async function useTodoList(page: Page, leftSelector: string): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const input = page.getByLabel('New todo');
  for (const title of ['walk the dog 🐕', 'buy milk']) {
    await input.fill(title);
    await input.press('Enter');
  }
  await expect(page.locator('li')).toHaveText(['buy milk', 'walk the dog 🐕']);
  await expect(page.locator('jazz-count')).toHaveText('2');
  await expect(page.locator(leftSelector)).toHaveText('2');
  await page.getByRole('checkbox', { name: 'buy milk' }).check();
  await expect(page.locator('li.done')).toHaveText(['buy milk']);
  await expect(page.locator('jazz-count')).toHaveText('1');
  await expect(page.locator(leftSelector)).toHaveText('1');
  await page.reload();
  await expect(page.locator('li')).toHaveText(['buy milk', 'walk the dog 🐕']);
  await expect(page.locator('li.done')).toHaveText(['buy milk']);
  expect(errors).toEqual([]);
}

test.describe('Vue', () => {
  let site: StaticDist;
  test.beforeAll(async () => {
    // The example's files, and Vue's browser build beside them as its README says.
    const vue = readFileSync(resolve('node_modules/vue/dist/vue.esm-browser.prod.js'), 'utf8');
    site = await serveDist('e2e-vue-', { ...filesOf(resolve('examples/vue')), 'vue.esm-browser.prod.js': vue });
  });
  test.afterAll(() => site?.close());

  test('rows in a Vue ref, a <jazz-count> in Vue’s template, both live, kept across a reload', async ({ page }) => {
    await page.goto(`${site.origin}/index.html`);
    await useTodoList(page, '.vue-left');
  });
});

test.describe('Svelte', () => {
  let site: StaticDist;
  let out: string;
  test.beforeAll(async () => {
    test.setTimeout(120_000);
    out = mkdtempSync(join(resolve('.tmp'), 'e2e-svelte-build-'));
    execFileSync(process.execPath, [resolve('node_modules/vite/bin/vite.js'), 'build', 'examples/svelte', '--logLevel', 'error'], { env: { ...process.env, JAZZ_EXAMPLE_OUT: out }, stdio: 'pipe' });
    site = await serveDist('e2e-svelte-', filesOf(out));
  });
  test.afterAll(async () => {
    await site?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('rows in a Svelte $state, a <jazz-count> in the component, both live, kept across a reload', async ({ page }) => {
    await page.goto(`${site.origin}/index.html`);
    await useTodoList(page, '.svelte-left');
  });
});
