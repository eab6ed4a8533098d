/**
 * The elements (elements/) in real Chromium, from source through `e2e/elements.html`,
 * on the `memory` driver (every mount is a new, empty database). Each test writes a page made
 * only of elements and drives it as a user would: clicks, typing, keyboard focus. The tests share
 * one page (`shared`, see support/elements-page.ts: loading it was most of each test's time); the
 * one that installs listeners of its own has a page to itself.
 */
import { expect, type Page } from '@playwright/test';
import { errorsSeen, insertRows, load, mount, rowState, SCHEMA, test, TODO_LIST, toggleRows } from './support/elements-page.ts';

/** Inserts rows through the page's database (the one `<jazz-db>` opened). */
async function insert(page: Page, table: string, rows: Record<string, unknown>[]): Promise<string[]> {
  return page.evaluate(insertRows, [table, rows] as const);
}

test('rows render, the loading and empty slots show in turn, and a write through <jazz-form> appears', async ({ shared: page }) => {
  await mount(page, `${TODO_LIST}<jazz-form id="add" table="todos"><input name="title" required><input name="priority" type="number"><button>Add</button></jazz-form>`);
  const q = page.locator('#todos');
  await expect(q).toHaveAttribute('state', 'empty');
  await expect(page.getByText('Nothing to do.')).toBeVisible();
  await expect(page.getByText('Loading…')).toBeHidden();

  await page.locator('#add input[name=title]').fill('buy milk');
  await page.locator('#add input[name=priority]').fill('2');
  await page.locator('#add button').click();
  await expect(q.locator('li .title')).toHaveText(['buy milk']);
  await expect(q).toHaveAttribute('state', 'ready');
  await expect(page.getByText('Nothing to do.')).toBeHidden();
  // The form reset after the insert; Enter in a field submits too.
  await expect(page.locator('#add input[name=title]')).toHaveValue('');
  await page.locator('#add input[name=title]').fill('answer mail');
  await page.locator('#add input[name=title]').press('Enter');
  await expect(q.locator('li .title')).toHaveText(['answer mail', 'buy milk']);

  const rows = await page.evaluate(() => document.querySelector('jazz-query')!.rows.map((r) => [r['title'], r['priority'], r['done']]));
  expect(rows).toEqual([
    ['answer mail', null, false],
    ['buy milk', 2, false],
  ]);
  const seen = await page.evaluate(() => window.seen);
  expect(seen['jazz-settled']).toEqual([expect.objectContaining({ target: 'todos', table: 'todos', tier: 'local' })]);
  expect(seen['jazz-results'].at(-1)).toMatchObject({ target: 'todos', n: 2 });
  expect(seen['jazz-change'].at(-1)).toMatchObject({ target: 'todos', added: [expect.objectContaining({ title: 'answer mail' })], removed: [], changed: [] });
  expect(seen['jazz-status'].at(-1)).toMatchObject({ target: 'jazz-db', ready: true, driver: { used: 'memory' }, pendingWrites: 0 });
  expect(seen['jazz-error']).toEqual([]);
});

test('<jazz-form> shows a value that does not fit its column on the input and writes nothing', async ({ shared: page }) => {
  await mount(page, `${TODO_LIST}<jazz-form id="add" table="todos"><input name="title"><input name="priority"><button>Add</button></jazz-form>`);
  await expect(page.locator('#todos')).toHaveAttribute('state', 'empty');
  await page.locator('#add input[name=title]').fill('x');
  await page.locator('#add input[name=priority]').fill('1.5');
  await page.locator('#add button').click();
  const validity = await page.locator('#add input[name=priority]').evaluate((el: HTMLInputElement) => [el.validity.customError, el.validationMessage]);
  expect(validity).toEqual([true, expect.stringContaining('whole number')]);
  const errors = await page.evaluate(() => window.seen['jazz-error']);
  expect(errors).toEqual([expect.objectContaining({ code: 'TYPE_MISMATCH', attribute: 'name' })]);
  // Nothing was written, and the form kept what the user typed.
  expect(await page.evaluate(async () => (await document.querySelector('jazz-db')!.db!.all(document.querySelector('jazz-db')!.db!.app['todos']!)).length)).toBe(0);
  await expect(page.locator('#add input[name=title]')).toHaveValue('x');
  // Fixing it clears the message and writes.
  await page.locator('#add input[name=priority]').fill('3');
  await page.locator('#add button').click();
  await expect(page.locator('#todos li .title')).toHaveText(['x']);
  expect(await page.locator('#add input[name=priority]').evaluate((el: HTMLInputElement) => el.validity.valid)).toBe(true);
});

/** Every row of `todos` in the page's database, oldest first (row ids are time-ordered), as [title, priority, note]. */
async function todosInOrder(page: Page): Promise<unknown[][]> {
  return page.evaluate(async () => {
    const db = document.querySelector('jazz-db')!.db!;
    const rows = await db.all(db.app['todos']!);
    return [...rows].sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => [r['title'], r['priority'], r['note']]);
  });
}

/** A `<jazz-db>` whose worker answers nothing for `ms` (e2e/worker/slow-open.worker.ts): the database is not open yet. */
const SLOW_OPEN = (ms: number): string => `driver="memory" worker-url="/e2e/worker/slow-open.worker.ts?hold=${ms}"`;

test('<jazz-form>: 200 submits by keyboard with no waits, from before the database is open, are each stored once, in order', async ({ page }) => {
  await mount(page, `<jazz-form id="add" table="todos"><input name="title"></jazz-form>`, SLOW_OPEN(2000));
  // Whether the database was open at each Enter.
  await page.evaluate(() => {
    window.seen['open at submit'] = [];
    document.addEventListener('keydown', (e) => e.key === 'Enter' && window.seen['open at submit'].push(document.querySelector('jazz-db')!.db!.status.ready), true);
  });
  await page.keyboard.press('Tab');
  for (let i = 0; i < 200; i++) {
    await page.keyboard.type(`todo ${i}`);
    await page.keyboard.press('Enter');
  }
  const open: boolean[] = await page.evaluate(() => window.seen['open at submit']);
  expect(open).toHaveLength(200);
  expect(open[0]).toBe(false);
  console.log(`[elements] ${open.filter((o) => !o).length} of 200 submits were made before the database was open`);
  await expect(page.locator('#add input')).toHaveValue('');
  await expect.poll(async () => (await todosInOrder(page)).length).toBe(200);
  expect((await todosInOrder(page)).map((r) => r[0])).toEqual(Array.from({ length: 200 }, (_, i) => `todo ${i}`));
  expect(await page.evaluate(() => window.seen['jazz-error'])).toEqual([]);
});

test('<jazz-form>: text typed while an insert is pending survives it', async ({ shared: page }) => {
  await mount(page, `${TODO_LIST}<jazz-form id="add" table="todos"><input name="title" required><button>Add</button></jazz-form>`, SLOW_OPEN(3000));
  const input = page.locator('#add input');
  await input.click();
  await page.keyboard.type('first');
  await page.keyboard.press('Enter');
  await page.keyboard.type('second, half ty');
  // The insert is still waiting for the database to open.
  expect(await page.evaluate(() => document.querySelector('jazz-db')!.db!.status)).toMatchObject({ ready: false, pendingWrites: 1 });
  await expect(page.locator('#todos li .title')).toHaveText(['first']);
  await page.keyboard.type('ped');
  await expect(input).toHaveValue('second, half typed');
  await page.keyboard.press('Enter');
  await expect(page.locator('#todos li .title')).toHaveText(['first', 'second, half typed']);
});

test('<jazz-form>: text is trimmed, and text that is empty after trimming is a mistake on its control unless the column may be empty', async ({ shared: page }) => {
  await mount(
    page,
    `${TODO_LIST}<jazz-form id="add" table="todos"><input name="title"><input name="note"><textarea name="priority"></textarea><button>Add</button></jazz-form>
     <jazz-form id="blank" table="todos"><input name="title" jazz-allow-empty><button>Add blank</button></jazz-form>`,
  );
  await expect(page.locator('#todos')).toHaveAttribute('state', 'empty');
  const title = page.locator('#add input[name=title]');
  await title.fill('   ');
  await page.locator('#add button').click();
  expect(await title.evaluate((el: HTMLInputElement) => [el.validity.customError, el.validationMessage])).toEqual([true, 'Please fill in this field.']);
  await expect(title).toHaveValue('   ');
  expect(await errorsSeen(page)).toEqual(['input TYPE_MISMATCH']);
  // Padded values are written trimmed; an empty optional column is null.
  await title.fill('  buy milk \t');
  await page.locator('#add input[name=note]').fill('   ');
  await page.locator('#add textarea').fill(' 2\n');
  await page.locator('#add button').click();
  await expect(page.locator('#todos li .title')).toHaveText(['buy milk']);
  // A control marked jazz-allow-empty writes the empty string to a string column.
  await page.locator('#blank input').fill('  ');
  await page.locator('#blank button').click();
  await expect(page.locator('#todos li .title')).toHaveText(['', 'buy milk']);
  // A row's field is trimmed too.
  const note = page.locator('#todos li', { hasText: 'buy milk' }).locator('input.note');
  await note.fill('  call first  ');
  await note.press('Tab');
  await expect
    .poll(() => todosInOrder(page))
    .toEqual([
      ['buy milk', 2, 'call first'],
      ['', null, null],
    ]);
  expect(await errorsSeen(page)).toHaveLength(1);
});

test('<jazz-form>: submits made before its <jazz-db> has a schema wait, in order; one that does not fit then goes back into its controls', async ({ shared: page }) => {
  await load(page, `<jazz-db id="db" driver="memory">${TODO_LIST}<jazz-form id="add" table="todos"><input name="title"><input name="priority"><button>Add</button></jazz-form></jazz-db>`);
  await expect(page.locator('#add')).toHaveAttribute('state', 'error');
  const title = page.locator('#add input[name=title]');
  const priority = page.locator('#add input[name=priority]');
  for (const [t, p] of [
    ['one', '1'],
    ['two', ''],
    ['three', '1.5'],
  ]) {
    await title.fill(t!);
    await priority.fill(p!);
    await title.press('Enter');
    // Taken and reset at once, though nothing can be written yet.
    await expect(title).toHaveValue('');
  }
  await page.evaluate((schema) => (document.querySelector('jazz-db')!.schema = JSON.parse(schema)), SCHEMA);
  await expect(page.locator('#add')).toHaveAttribute('state', 'ready');
  await expect
    .poll(() => todosInOrder(page))
    .toEqual([
      ['one', 1, null],
      ['two', null, null],
    ]);
  // "1.5" is no int: that submit's values are back in the controls, with the message on the one at fault.
  await expect(title).toHaveValue('three');
  await expect(priority).toHaveValue('1.5');
  expect(await priority.evaluate((el: HTMLInputElement) => el.validationMessage)).toContain('whole number');
  expect(await errorsSeen(page)).toEqual(['db SCHEMA_MISSING', 'input TYPE_MISMATCH']);
  // Fixed, it is written after the others.
  await priority.fill('3');
  await title.press('Enter');
  await expect.poll(async () => (await todosInOrder(page)).map((r) => r[0])).toEqual(['one', 'two', 'three']);
});

test('toggling a checkbox patches its row in place; focus, caret, scroll and state in other rows survive', async ({ shared: page }) => {
  await mount(page, TODO_LIST);
  const [, idB] = await insert(page, 'todos', [{ title: 'a' }, { title: 'b' }, { title: 'c' }]);
  const li = page.locator('#todos li');
  await expect(li.locator('.title')).toHaveText(['a', 'b', 'c']);
  // Row b: typing in its text field (focused, caret in the middle), scrolled, with an expando.
  await page.evaluate(() => {
    const rows = [...document.querySelectorAll<HTMLElement & { mark?: string }>('#todos li')];
    rows.forEach((r) => (r.mark = r.querySelector('.title')!.textContent!));
    rows[1]!.querySelector<HTMLElement>('.scroller')!.scrollTop = 50;
  });
  const note = page.locator(`#todos li[data-id="${idB}"] input.note`);
  await note.click();
  await page.keyboard.type('half typed');
  await note.evaluate((el: HTMLInputElement) => el.setSelectionRange(2, 6));

  // Toggle a's checkbox (and c's) with the keyboard-free API a user's click would use: a's row
  // moves to the end (order-by="done, title"); b's row must not be touched.
  await page.evaluate(toggleRows, [0, 2]);
  await expect(li.locator('.title')).toHaveText(['b', 'a', 'c']);
  const after = await page.evaluate(rowState);
  expect(after).toEqual({ marks: ['b', 'a', 'c'], checked: [false, true, true], focusedRow: 'b', value: 'half typed', selection: [2, 6], scroll: 50 });
  // Keep typing: the caret is where it was.
  await page.keyboard.type('!');
  await expect(note).toHaveValue('ha!yped');
  // A real click on a checkbox writes too, and the text field's change writes its column.
  await li.nth(0).locator('input[type=checkbox]').click();
  await note.press('Tab');
  await expect
    .poll(() => page.evaluate(() => document.querySelector('jazz-query')!.rows.map((r) => [r['title'], r['done'], r['note']])))
    .toEqual([
      ['a', true, null],
      ['b', true, 'ha!yped'],
      ['c', true, null],
    ]);
});

test('delete and restore buttons', async ({ shared: page }) => {
  await mount(page, TODO_LIST);
  await insert(page, 'todos', [{ title: 'a' }, { title: 'b' }]);
  const titles = page.locator('#todos li .title');
  await expect(titles).toHaveText(['a', 'b']);
  await expect(page.locator('#undo')).toBeDisabled();
  await page.locator('#todos li', { hasText: 'a' }).getByRole('button', { name: 'delete' }).click();
  await expect(titles).toHaveText(['b']);
  await page.locator('#todos li', { hasText: 'b' }).getByRole('button', { name: 'delete' }).click();
  await expect(titles).toHaveCount(0);
  await expect(page.getByText('Nothing to do.')).toBeVisible();
  await page.locator('#undo').click();
  await expect(titles).toHaveText(['b']);
  await page.locator('#undo').click();
  await expect(titles).toHaveText(['a', 'b']);
  await expect(page.locator('#undo')).toBeDisabled();
});

test('jazz-each repeats an include inside a row, and a forward include binds {{project.name}}', async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query id="projects" table="projects" order-by="name">
       <template><section><h2>{{name}}</h2><ul><template jazz-each="todosViaProject"><li class="t" title="{{title}}">{{title}}<input type="checkbox" jazz-field="done"></li></template></ul></section></template>
     </jazz-query>
     <jazz-query id="flat" table="todos" include="project" order-by="title">
       <template><p class="f">{{title}} in {{project.name}}</p></template>
     </jazz-query>`,
  );
  const [p1, p2] = await insert(page, 'projects', [{ name: 'home' }, { name: 'work' }]);
  await insert(page, 'todos', [
    { title: 'dishes', projectId: p1 },
    { title: 'report', projectId: p2 },
    { title: 'mail', projectId: p2 },
  ]);
  await expect(page.locator('#projects h2')).toHaveText(['home', 'work']);
  await expect(page.locator('#projects section').nth(1).locator('li.t')).toHaveText(['report', 'mail']);
  await expect(page.locator('#flat p.f')).toHaveText(['dishes in home', 'mail in work', 'report in work']);
  // A nested row's field edits the nested row; the sections are patched, not rebuilt.
  await page.evaluate(() => ((document.querySelectorAll('#projects section')[1] as HTMLElement & { mark?: number }).mark = 1));
  await page.locator('#projects li.t', { hasText: 'mail' }).locator('input').click();
  await insert(page, 'todos', [{ title: 'plan', projectId: p2 }]);
  await expect(page.locator('#projects section').nth(1).locator('li.t')).toHaveText(['report', 'mail', 'plan']);
  expect(await page.evaluate(() => (document.querySelectorAll('#projects section')[1] as HTMLElement & { mark?: number }).mark)).toBe(1);
  await expect
    .poll(() => page.evaluate(async () => (await document.querySelector('jazz-db')!.db!.all(document.querySelector('jazz-db')!.db!.app['todos']!)).filter((r) => r['done']).map((r) => r['title'])))
    .toEqual(['mail']);
});

test('a bad where, an unknown table or column shows in the error slot with its position; the rest keeps working', async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query id="bad" table="todos" where="done = false and (priority >> 2)"><template><p>{{title}}</p></template><p slot="error">Broken: <b jazz-error-message></b></p><p slot="empty">none</p></jazz-query>
     <jazz-query id="nocol" table="todos" where="done = false and colour = 'red'"><template><p>{{title}}</p></template></jazz-query>
     <jazz-query id="notable" table="todoz"><template><p>{{title}}</p></template></jazz-query>
     <jazz-query id="badorder" table="todos" order-by="title, nope desc"><template><p>{{title}}</p></template></jazz-query>
     ${TODO_LIST}`,
  );
  await insert(page, 'todos', [{ title: 'still here' }]);
  await expect(page.locator('#todos li .title')).toHaveText(['still here']);
  await expect(page.locator('#bad')).toHaveAttribute('state', 'error');
  await expect(page.locator('#bad [slot=error]')).toBeVisible();
  await expect(page.locator('#bad [slot=empty]')).toBeHidden();
  await expect(page.locator('#bad [jazz-error-message]')).toContainText('position 27');
  await expect(page.locator('#bad [slot=error]')).toHaveAttribute('data-position', '27');
  await expect(page.locator('#nocol [slot=error]')).toContainText('no column "colour"');
  await expect(page.locator('#notable [slot=error]')).toContainText('unknown table "todoz"');
  const errors = await page.evaluate(() => window.seen['jazz-error']);
  expect(errors).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ target: 'bad', code: 'QUERY_PARSE', attribute: 'where', position: 27 }),
      expect.objectContaining({ target: 'nocol', code: 'UNKNOWN_COLUMN', attribute: 'where', position: 17 }),
      expect.objectContaining({ target: 'notable', code: 'UNKNOWN_TABLE', attribute: 'table', position: 0 }),
      expect.objectContaining({ target: 'badorder', code: 'UNKNOWN_COLUMN', attribute: 'order-by', position: 7 }),
    ]),
  );
  // Fixing the attribute recovers the element.
  await page.evaluate(() => document.querySelector('#bad')!.setAttribute('where', 'done = false and priority > 2'));
  await expect(page.locator('#bad')).toHaveAttribute('state', 'empty');
  await expect(page.locator('#bad [slot=error]')).toBeHidden();
});

test('S4: markup and script in values are shown as text and never run', async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query id="x" table="todos" order-by="title"><template><div class="row" title="{{title}}" data-note="{{note}}"><a href="{{note}}">link</a><span class="t">{{title}}</span></div></template></jazz-query>`,
  );
  const evil = ['<img src=x onerror=window.__pwned=1>', '<script>window.__pwned=1</script>', '"><img src=x onerror=window.__pwned=1>'];
  await insert(
    page,
    'todos',
    evil.map((title) => ({ title, note: 'javascript:window.__pwned=1' })),
  );
  await expect(page.locator('#x .t')).toHaveText([...evil].sort());
  const out = await page.evaluate(() => ({
    pwned: window.__pwned,
    imgs: document.querySelectorAll('#x img').length,
    scripts: document.querySelectorAll('#x script').length,
    titles: [...document.querySelectorAll('#x .row')].map((r) => r.getAttribute('title')),
    hrefs: [...document.querySelectorAll('#x a')].map((a) => a.getAttribute('href')),
  }));
  expect(out).toEqual({ pwned: undefined, imgs: 0, scripts: 0, titles: [...evil].sort(), hrefs: Array(3).fill('about:invalid#blocked') });
  // A template that would bind data into an event handler is refused, with an error.
  await page.evaluate(() => {
    document.querySelector('jazz-db')!.insertAdjacentHTML('beforeend', '<jazz-query id="h" table="todos"><template><p onclick="{{title}}">x</p></template></jazz-query>');
  });
  await expect(page.locator('#h')).toHaveAttribute('state', 'error');
  expect(await page.evaluate(() => window.seen['jazz-error'].map((e: { code: string }) => e.code))).toEqual(['TEMPLATE_INVALID']);
});

test('<jazz-status> is a status that reads as words, and elements inside a shadow root find their <jazz-db>', async ({ shared: page }) => {
  // The worker holds the page's messages for a second: the status is seen before the database opens.
  await mount(page, `<jazz-status></jazz-status><shadow-host></shadow-host>`, 'driver="memory" worker-url="/e2e/worker/slow-open.worker.ts?hold=1000"');
  const status = page.locator('jazz-status');
  const line = (): Promise<string | null> => status.evaluate((el) => el.shadowRoot!.textContent);
  await expect(status).toHaveAttribute('connection', 'connecting');
  expect(await line()).toBe('connecting, 0 pending');
  await expect(page.getByRole('status')).toHaveCount(1);
  await page.evaluate(() => {
    if (!customElements.get('shadow-host'))
      customElements.define(
        'shadow-host',
        class extends HTMLElement {
          connectedCallback(): void {
            this.attachShadow({ mode: 'open' }).innerHTML = '<jazz-query table="todos"><template><i>{{title}}</i></template></jazz-query>';
          }
        },
      );
  });
  await insert(page, 'todos', [{ title: 'deep' }]);
  await expect(page.locator('shadow-host i')).toHaveText(['deep']);
  await expect(status).toHaveAttribute('driver', 'memory');
  await expect(status).toHaveAttribute('connection', 'local');
  await expect(status).toHaveAttribute('tab', 'leader');
  await expect(status).toHaveAttribute('pending', '0');
  await expect(status).toHaveAttribute('state', 'ready');
  expect(await status.evaluate((el) => [...el.shadowRoot!.querySelectorAll('[part]')].map((p) => [p.getAttribute('part'), p.textContent]))).toEqual([
    ['connection local', 'local only'],
    ['pending', '0 pending'],
    ['role', 'leader'],
    ['driver', 'memory'],
  ]);
  // Unstyled, and to assistive technology, it is one line of words (today's was "local only0 pendingleadermemory").
  expect(await line()).toBe('local only, 0 pending, leader, memory');
  await expect(status).toMatchAriaSnapshot('- status: local only, 0 pending, leader, memory');
});

test('an element with no <jazz-db> around it says so: jazz-error NO_DATABASE, a warning, state="error"; inside one it works', async ({ shared: page }) => {
  const warnings = await load(
    page,
    `<jazz-db driver="memory"><script type="application/json" slot="schema">${SCHEMA}</script></jazz-db>
     <jazz-query id="q" table="todos"><template><li>{{title}}</li></template><p slot="loading">Loading…</p><p slot="empty">none</p><p slot="error">Broken: <span jazz-error-message></span></p></jazz-query>
     <jazz-form id="f" table="todos"><input name="title"><button>Add</button></jazz-form>
     <jazz-status id="st"></jazz-status>`,
  );
  for (const id of ['#q', '#f', '#st']) await expect(page.locator(id)).toHaveAttribute('state', 'error');
  await expect(page.locator('#q [slot=error]')).toBeVisible();
  await expect(page.locator('#q [slot=error]')).toContainText('<jazz-query> is not inside a <jazz-db>: put it inside one');
  await expect(page.getByText('Loading…')).toBeHidden();
  await expect(page.locator('#st')).toHaveAttribute('connection', 'error');
  expect((await errorsSeen(page)).sort()).toEqual(['f NO_DATABASE', 'q NO_DATABASE', 'st NO_DATABASE']);
  expect(warnings.filter((w) => w.includes('NO_DATABASE'))).toEqual([
    expect.stringContaining('<jazz-query> is not inside'),
    expect.stringContaining('<jazz-form> is not inside'),
    expect.stringContaining('<jazz-status> is not inside'),
  ]);
  // Put inside the <jazz-db>, they work; nothing was reported twice.
  await page.evaluate(() => document.querySelector('jazz-db')!.append(...document.querySelectorAll('#q, #f, #st')));
  await expect(page.locator('#q')).toHaveAttribute('state', 'empty');
  await expect(page.locator('#f')).toHaveAttribute('state', 'ready');
  await expect(page.locator('#st')).toHaveAttribute('connection', 'local');
  await page.locator('#f input').fill('found it');
  await page.locator('#f button').click();
  await expect(page.locator('#q li')).toHaveText(['found it']);
  expect(await errorsSeen(page)).toHaveLength(3);
  expect(warnings).toHaveLength(3);
});

test('a <jazz-db> with no schema, then a bad one: one jazz-error and one warning each, the elements inside show it; a good one opens', async ({ shared: page }) => {
  const warnings = await load(
    page,
    `<jazz-db id="db" driver="memory">
       <jazz-query id="q" table="todos"><template><li>{{title}}</li></template><p slot="loading">Loading…</p><p slot="error">Broken: <span jazz-error-message></span></p></jazz-query>
       <jazz-status id="st"></jazz-status>
     </jazz-db>`,
  );
  // Today's "Loading…" and "connecting" forever, with nothing in the console, are gone.
  await expect(page.locator('#db')).toHaveAttribute('state', 'error');
  await expect(page.locator('#q')).toHaveAttribute('state', 'error');
  await expect(page.locator('#q [slot=error]')).toContainText('<jazz-db> has no schema: put a <script type="application/json" slot="schema">');
  await expect(page.getByText('Loading…')).toBeHidden();
  await expect(page.locator('#st')).toHaveAttribute('connection', 'error');
  await expect(page.locator('#st')).toHaveAttribute('state', 'error');
  expect(await page.locator('#st').evaluate((el) => el.shadowRoot!.querySelector('[part~=connection]')!.getAttribute('title'))).toContain('has no schema');
  expect(await errorsSeen(page)).toEqual(['db SCHEMA_MISSING']);
  expect(warnings).toEqual([expect.stringContaining('SCHEMA_MISSING: <jazz-db> has no schema')]);

  await page.evaluate(() => (document.querySelector('jazz-db')!.schema = { tables: { todos: { title: 'strin' } } }));
  await expect(page.locator('#q [slot=error]')).toContainText('todos.title: unknown column type "strin"');
  expect(await errorsSeen(page)).toEqual(['db SCHEMA_MISSING', 'db SCHEMA_INVALID']);
  expect(await page.evaluate(() => window.seen['jazz-error'][1].attribute)).toBe('schema');

  await page.evaluate((schema) => (document.querySelector('jazz-db')!.schema = JSON.parse(schema)), SCHEMA);
  await expect(page.locator('#db')).toHaveAttribute('state', 'ready');
  await expect(page.locator('#q')).toHaveAttribute('state', 'empty');
  await expect(page.locator('#st')).toHaveAttribute('connection', 'local');
  expect(await errorsSeen(page)).toHaveLength(2);
  expect(warnings).toHaveLength(2);
});

test('markup that names a column the table does not have is an error, not an empty render', async ({ shared: page }) => {
  const warnings = await mount(
    page,
    `<jazz-query id="typo" table="todos"><template><li>{{titel}}</li></template><p slot="error"></p></jazz-query>
     <jazz-query id="deep" table="todos" include="project"><template><li title="{{project.nme}}">x</li></template></jazz-query>
     <jazz-query id="each" table="projects"><template><section><template jazz-each="todosViaProject"><i>{{titl}}</i></template></section></template></jazz-query>
     <jazz-query id="sel" table="todos" select="title"><template><li>{{title}} <input type="checkbox" jazz-field="done"></li></template></jazz-query>
     <jazz-query id="fine" table="todos" include="project"><template><li>{{id}} {{title}} {{project.name}}</li></template></jazz-query>
     <jazz-form id="form" table="todos"><input id="titel" name="titel"><button>Add</button></jazz-form>`,
  );
  await expect(page.locator('#fine')).toHaveAttribute('state', 'empty');
  for (const id of ['#typo', '#deep', '#each', '#sel', '#form']) await expect(page.locator(id)).toHaveAttribute('state', 'error');
  await expect(page.locator('#typo [slot=error]')).toHaveText(
    'the template binds "titel", but rows of "todos" have no "titel" (they have id, title, done, priority, projectId, note); fix the template, or include or select it',
  );
  const errors = await page.evaluate(() => window.seen['jazz-error']);
  expect(errors).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ target: 'typo', code: 'UNKNOWN_COLUMN', message: expect.stringContaining('binds "titel"') }),
      expect.objectContaining({ target: 'deep', code: 'UNKNOWN_COLUMN', message: expect.stringContaining('rows of "projects" have no "nme"') }),
      expect.objectContaining({ target: 'each', code: 'UNKNOWN_COLUMN', message: expect.stringContaining('binds "titl"') }),
      expect.objectContaining({ target: 'sel', code: 'UNKNOWN_COLUMN', message: expect.stringContaining('have no "done" (they have id, title)') }),
      expect.objectContaining({ target: 'titel', code: 'UNKNOWN_COLUMN', attribute: 'name', message: '"todos" has no column "titel"' }),
    ]),
  );
  expect(errors).toHaveLength(5);
  expect(warnings).toHaveLength(5);
  // A submit of the form says so again on its control, and writes nothing.
  await page.locator('#form button').click();
  expect(await page.locator('#titel').evaluate((el: HTMLInputElement) => el.validationMessage)).toBe('"todos" has no column "titel"');
  expect(await errorsSeen(page)).toEqual(expect.arrayContaining(['titel UNKNOWN_COLUMN']));
  expect(await page.evaluate(async () => (await document.querySelector('jazz-db')!.db!.all(document.querySelector('jazz-db')!.db!.app['todos']!)).length)).toBe(0);
});

test('the keyed list: random appends, edits, removals and moves leave the DOM in the rows order, keeping the nodes of rows that stay', async ({ shared: page }) => {
  const seed = Number(process.env['KEYED_SEED'] ?? Date.now() % 1e9);
  console.log(`[elements] keyed list seed ${seed} (replay with KEYED_SEED=${seed})`);
  await mount(page, '<div id="keyed"></div>');
  const failures = await page.evaluate(async (seed) => {
    const { KeyedList } = await import(/* @vite-ignore */ `${location.origin}/elements/keyed-list.ts`);
    const host = document.getElementById('keyed')!;
    const end = host.appendChild(document.createComment('end'));
    type Row = { id: string; v: number };
    const list = new KeyedList(end, (row: Row) => {
      const el = document.createElement('p');
      el.textContent = `${row.id}:${row.v}`;
      const view = { row, first: el, last: el, update: (r: Row) => ((view.row = r), (el.textContent = `${r.id}:${r.v}`)), dispose: () => {} };
      return view;
    });
    // Exact 32-bit arithmetic (a float product loses its low bits and falls into a short cycle), high bits.
    let x = seed >>> 0;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), Math.floor((x / 2 ** 32) * n));
    let rows: Row[] = [];
    let next = 0;
    const out: string[] = [];
    for (let step = 0; step < 400; step++) {
      const before = new Map([...host.children].map((el) => [el.textContent!.split(':')[0]!, el]));
      const kind = rand(5);
      const r = rows.slice();
      // A slice appended; one row edited; some removed; one moved; one inserted in the middle.
      if (kind === 0) for (let k = rand(30); k >= 0; k--) r.push({ id: `r${next++}`, v: 0 });
      else if (kind === 1 && r.length) {
        const i = rand(r.length);
        r[i] = { ...r[i]!, v: r[i]!.v + 1 };
      } else if (kind === 2 && r.length) r.splice(rand(r.length), 1 + rand(3));
      else if (kind === 3 && r.length > 1) r.splice(rand(r.length), 0, ...r.splice(rand(r.length), 1));
      else r.splice(rand(r.length + 1), 0, { id: `r${next++}`, v: 0 });
      rows = r;
      list.set(rows);
      const shown = [...host.children].map((el) => el.textContent);
      const want = rows.map((row) => `${row.id}:${row.v}`);
      if (JSON.stringify(shown) !== JSON.stringify(want)) out.push(`step ${step} (kind ${kind}): shows ${shown.join(' ')}, wants ${want.join(' ')}`);
      for (const el of host.children) {
        const id = el.textContent!.split(':')[0]!;
        if (before.has(id) && before.get(id) !== el) out.push(`step ${step}: ${id}'s node was replaced`);
      }
      if (list.views.length !== rows.length) out.push(`step ${step}: ${list.views.length} views for ${rows.length} rows`);
    }
    return out.slice(0, 5);
  }, seed);
  expect(failures).toEqual([]);
});

test('<jazz-db>.indexes: a definition opens the database with those indexes, a change reopens it, a bad one is a jazz-error OPTION_INVALID', async ({ page }) => {
  await mount(page, `<jazz-query id="q" table="todos" where="done = false" order-by="title desc" limit="2"><template><p>{{title}}</p></template></jazz-query>`);
  await insert(page, 'todos', [{ title: 'a' }, { title: 'b' }, { title: 'c', done: true }]);
  await expect(page.locator('#q p')).toHaveText(['b', 'a']);
  const reopened = () => page.evaluate(() => new Promise<void>((resolve) => document.querySelector('jazz-db')!.addEventListener('jazz-status', () => resolve(), { once: true })));
  let next = reopened();
  await page.evaluate(() => ((document.querySelector('jazz-db') as any).indexes = { todos: [['done', 'title']] }));
  await next;
  await expect(page.locator('jazz-db')).toHaveAttribute('state', 'ready');
  // A memory database starts empty: the rows written now are read through the new index.
  await insert(page, 'todos', [{ title: 'x' }, { title: 'y' }, { title: 'z', done: true }]);
  await expect(page.locator('#q p')).toHaveText(['y', 'x']);
  next = reopened();
  await page.evaluate(() => ((document.querySelector('jazz-db') as any).indexes = { todos: [['done', 'colour']] }));
  await next;
  await expect(page.locator('jazz-db')).toHaveAttribute('state', 'error');
  await expect.poll(() => errorsSeen(page)).toEqual(['jazz-db OPTION_INVALID', 'q OPTION_INVALID']);
});

test('<jazz-db cache-bytes> sets the opfs page cache (a change reopens the database); a mistyped driver or a bad cache size is a jazz-error OPTION_INVALID', async ({ page }) => {
  await mount(
    page,
    `<jazz-query id="q" table="todos" order-by="title"><template><p>{{title}}</p></template></jazz-query>`,
    `driver="opfs" db-name="cache-${Date.now()}" cache-bytes="${64 * 2 ** 20}"`,
  );
  await insert(page, 'todos', [{ title: 'ü 😀' }]);
  await expect(page.locator('#q p')).toHaveText(['ü 😀']);
  const status = () => page.evaluate(() => (document.querySelector('jazz-db') as any).db.status.driver);
  expect(await status()).toEqual({ requested: 'opfs', used: 'opfs', persistent: true, cacheBytes: 64 * 2 ** 20 });
  const reopened = () => page.evaluate(() => new Promise<void>((resolve) => document.querySelector('jazz-db')!.addEventListener('jazz-status', () => resolve(), { once: true })));
  let next = reopened();
  await page.evaluate(() => document.querySelector('jazz-db')!.setAttribute('cache-bytes', String(2 ** 27)));
  await next;
  await expect(page.locator('jazz-db')).toHaveAttribute('state', 'ready');
  expect((await status()).cacheBytes).toBe(2 ** 27);
  await expect(page.locator('#q p')).toHaveText(['ü 😀']); // the same database, opened again
  next = reopened();
  await page.evaluate(() => document.querySelector('jazz-db')!.setAttribute('cache-bytes', '64MiB'));
  await next;
  await expect(page.locator('jazz-db')).toHaveAttribute('state', 'error');
  await expect.poll(() => errorsSeen(page)).toEqual(['jazz-db OPTION_INVALID', 'q OPTION_INVALID']);
  next = reopened();
  await page.evaluate(() => {
    const db = document.querySelector('jazz-db')!;
    db.removeAttribute('cache-bytes');
    db.setAttribute('driver', 'opfz');
  });
  await next;
  await expect(page.locator('jazz-db')).toHaveAttribute('state', 'error');
  await expect.poll(() => page.evaluate(() => window.seen['jazz-error'].at(-1)?.message)).toMatch(/unknown driver "opfz"/);
});
