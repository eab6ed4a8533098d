/**
 * The elements in Firefox and WebKitGTK, from source through `e2e/elements.html` on the `memory`
 * driver, driven as a user would (the Chromium spec, e2e/elements.spec.ts, has every case; these
 * are the ones an engine can get wrong): rows render with their slots; `<jazz-form>` inserts from
 * the keyboard and resets; `jazz-field` writes its column; a checkbox toggled in one row patches
 * the rows in place while a text field of another row keeps its focus, caret, scroll and state;
 * markup and script in data stay text; `<jazz-status>` is one line of words.
 */
import { insertRows, mountOn, rowState, TODO_LIST, toggleRows } from '../support/elements-page.ts';
import type { EnginePage } from '../support/engines.ts';
import { expect, test } from './fixtures.ts';

/** Inserts rows through the page's database (the one `<jazz-db>` opened); their ids. */
function insert(page: EnginePage, table: string, rows: Record<string, unknown>[]): Promise<string[]> {
  return page.evaluate(insertRows, [table, rows] as const);
}

const titles = (page: EnginePage): Promise<string[]> => page.evaluate(() => [...document.querySelectorAll('#todos li .title')].map((e) => e.textContent!));

test('rows render; <jazz-form> inserts from the keyboard; a toggle patches the rows while another row keeps focus, caret and scroll; jazz-field writes', async ({ engine }) => {
  const page = await engine.page();
  await mountOn(page, `${TODO_LIST}<jazz-form id="add" table="todos"><input name="title" required><button>Add</button></jazz-form>`);
  await page.waitFor(() => document.querySelector('#todos')!.getAttribute('state') === 'empty', null, 'the empty state');
  expect(await page.evaluate(() => [...document.querySelectorAll('#todos [slot]')].map((e) => [e.textContent, getComputedStyle(e).display !== 'none']))).toEqual([
    ['Loading…', false],
    ['Nothing to do.', true],
  ]);

  // The form, from the keyboard: typed, Enter, written, reset.
  await page.type('#add input[name=title]', 'b');
  await page.press('#add input[name=title]', 'Enter');
  await page.waitFor(() => document.querySelectorAll('#todos li').length === 1, null, 'the row of the first submit');
  expect(await page.evaluate(() => document.querySelector<HTMLInputElement>('#add input')!.value)).toBe('');
  await page.type('#add input[name=title]', 'a');
  await page.click('#add button');
  await insert(page, 'todos', [{ title: 'c' }]);
  await page.waitFor(() => document.querySelectorAll('#todos li').length === 3, null, 'three rows');
  expect(await titles(page)).toEqual(['a', 'b', 'c']);
  expect(await page.evaluate(() => document.querySelector('#todos')!.getAttribute('state'))).toBe('ready');

  // Row b: a text field focused with its caret in the middle of what was typed, scrolled, with an expando.
  await page.evaluate(() => {
    const rows = [...document.querySelectorAll<HTMLElement & { mark?: string }>('#todos li')];
    rows.forEach((r) => (r.mark = r.querySelector('.title')!.textContent!));
    rows[1]!.querySelector<HTMLElement>('.scroller')!.scrollTop = 50;
  });
  await page.type('#todos li:nth-of-type(2) input.note', 'half typed');
  await page.evaluate(() => (document.activeElement as HTMLInputElement).setSelectionRange(2, 6));
  // Toggle a's and c's checkboxes (as a click would, without moving the focus): a moves to the
  // end (order-by="done, title"); b's row must not be touched.
  await page.evaluate(toggleRows, [0, 2]);
  await page.waitFor(() => [...document.querySelectorAll('#todos li .title')].map((e) => e.textContent).join() === 'b,a,c', null, 'the rows reordered');
  const after = await page.evaluate(rowState);
  expect(after).toEqual({ marks: ['b', 'a', 'c'], checked: [false, true, true], focusedRow: 'b', value: 'half typed', selection: [2, 6], scroll: 50 });
  // Typing goes on where the caret was; leaving the field writes its column (jazz-field), and a
  // real click on a checkbox writes `done`.
  await page.keys('!');
  expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe('ha!yped');
  await page.press('#todos li:nth-of-type(1) input.note', 'Tab');
  await page.click('#todos li:nth-of-type(1) input[type=checkbox]');
  await page.waitFor(
    () =>
      JSON.stringify(document.querySelector('jazz-query')!.rows.map((r) => [r['title'], r['done'], r['note']])) ===
      JSON.stringify([
        ['a', true, null],
        ['b', true, 'ha!yped'],
        ['c', true, null],
      ]),
    null,
    'the field and the checkbox written',
  );
  expect(await page.evaluate(() => window.seen['jazz-error'])).toEqual([]);
});

test('markup and script in values are shown as text and never run; <jazz-status> is one line of words', async ({ engine }) => {
  const page = await engine.page();
  await mountOn(
    page,
    `<jazz-status></jazz-status><jazz-query id="x" table="todos" order-by="title"><template><div class="row" title="{{title}}"><a href="{{note}}">link</a><span class="t">{{title}}</span></div></template></jazz-query>`,
  );
  const evil = ['<img src=x onerror=window.__pwned=1>', '<script>window.__pwned=1</script>', '"><img src=x onerror=window.__pwned=1>'];
  await insert(
    page,
    'todos',
    evil.map((title) => ({ title, note: 'javascript:window.__pwned=1' })),
  );
  await page.waitFor(() => document.querySelectorAll('#x .t').length === 3, null, 'three rows');
  const out = await page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    texts: [...document.querySelectorAll('#x .t')].map((e) => e.textContent),
    imgs: document.querySelectorAll('#x img').length,
    scripts: document.querySelectorAll('#x script').length,
    titles: [...document.querySelectorAll('#x .row')].map((r) => r.getAttribute('title')),
    hrefs: [...document.querySelectorAll('#x a')].map((a) => a.getAttribute('href')),
  }));
  expect(out).toEqual({ pwned: null, texts: [...evil].sort(), imgs: 0, scripts: 0, titles: [...evil].sort(), hrefs: Array(3).fill('about:invalid#blocked') });
  await page.waitFor(() => document.querySelector('jazz-status')!.getAttribute('state') === 'ready', null, 'the status ready');
  expect(await page.evaluate(() => document.querySelector('jazz-status')!.shadowRoot!.textContent)).toBe('local only, 0 pending, leader, memory');
  expect(await page.evaluate(() => document.querySelector('jazz-status')!.getAttribute('role'))).toBe('status');
});
