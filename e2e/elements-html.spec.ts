/**
 * The HTML surface of the elements (the lazy part, elements/more.ts, and `into` / `virtual`) in real
 * Chromium, from source: template conditions, classes and attributes; formatters; `<jazz-count>`
 * with plurals, aggregates and actions on every row; queries that follow a control, the URL's
 * search and its hash (`where-route`, `<jazz-nav>`); rows rendered into a `<ul>`, `<table>` and
 * `<select>`; editing in place by keyboard; 10,000 rows with `virtual`. Each feature is also fed
 * markup and `javascript:` URLs as data: they stay text, and no script runs.
 *
 * The tests share one page (support/elements-page.ts), in en-US and UTC, so dates read the same
 * on every machine; every mount is a new, empty database.
 */
import { expect, type Page } from '@playwright/test';
import { errorsSeen, mount, test } from './support/elements-page.ts';

const SCHEMA = JSON.stringify({
  tables: {
    members: { name: 'string' },
    tasks: {
      title: 'string',
      done: { type: 'boolean', default: false },
      due: { type: 'timestamp', optional: true },
      estimate: { type: 'float', optional: true },
      points: { type: 'int', optional: true },
      tags: { type: 'array', items: 'string', optional: true },
      link: { type: 'string', optional: true },
      assignee: { type: 'string', optional: true },
    },
  },
});

const DB = 'driver="memory"';
const EVIL = '<img src=x onerror="window.__pwned=1">';
const JS_URL = 'javascript:window.__pwned=2';

/** Writes rows through the page's database, as one batch; returns their ids. */
async function insert(page: Page, table: string, rows: Record<string, unknown>[]): Promise<string[]> {
  return page.evaluate(
    async ([table, rows]) => {
      const db = document.querySelector('jazz-db')!.db!;
      await db.ready;
      const h = db.batch((b) => rows.forEach((r) => b.insert(table, r)));
      await h.wait();
      return [...h.ids];
    },
    [table, rows] as const,
  );
}

async function noScriptRan(page: Page): Promise<void> {
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  expect(await page.locator('jazz-db img, jazz-db script:not([slot=schema])').count()).toBe(0);
}

test('conditions, classes and boolean attributes follow each row; markup and javascript: in data stay text', async ({ shared: page }) => {
  await mount(
    page,
    `<ul><jazz-query id="q" table="tasks" order-by="title" into="list">
       <template><li jazz-class="done: done = true; big: points >= 5 and done = false" jazz-attr="data-late: due < 1798137000000">
         <input type="checkbox" jazz-attr="checked: done = true; disabled: assignee is null" aria-label="{{title}}">
         <span class="t">{{title}}</span>
         <a class="link" jazz-if="link is not null" href="{{link}}">open</a>
         <span class="who" jazz-if="assignee is not null">by {{assignee}}</span>
       </li></template>
     </jazz-query></ul><ul id="list"></ul>`,
    DB,
    SCHEMA,
  );
  const [a] = await insert(page, 'tasks', [
    { title: 'a', points: 8, assignee: EVIL, link: JS_URL },
    { title: EVIL, done: true, due: 1798136000000, link: 'https://example.org/x' },
  ]);
  const rows = page.locator('#list > li');
  await expect(rows.locator('.t')).toHaveText([EVIL, 'a']);
  const state = () =>
    rows.evaluateAll((lis) =>
      lis.map((li) => ({
        cls: li.className,
        late: li.hasAttribute('data-late'),
        checked: (li.querySelector('input') as HTMLInputElement).checked,
        disabled: (li.querySelector('input') as HTMLInputElement).disabled,
        link: (li.querySelector('.link') as HTMLElement).hidden ? null : li.querySelector('.link')!.getAttribute('href'),
        who: (li.querySelector('.who') as HTMLElement).hidden ? null : li.querySelector('.who')!.textContent,
      })),
    );
  expect(await state()).toEqual([
    { cls: 'done', late: true, checked: true, disabled: true, link: 'https://example.org/x', who: null },
    { cls: 'big', late: false, checked: false, disabled: false, link: 'about:invalid#blocked', who: `by ${EVIL}` },
  ]);
  // A change to the row re-evaluates its conditions in place.
  await page.evaluate((id) => document.querySelector('jazz-db')!.db!.update('tasks', id, { done: true, assignee: null }).wait(), a!);
  await expect(rows.nth(1)).toHaveClass('done');
  expect((await state())[1]).toMatchObject({ checked: true, disabled: true, who: null });
  await noScriptRan(page);
  expect(await errorsSeen(page)).toEqual([]);
});

test('a condition is parsed, never run: a mistake is a jazz-error with its attribute and position, and code is refused', async ({ shared: page }) => {
  const warnings = await mount(
    page,
    `<jazz-query id="parse" table="tasks"><template><p jazz-if="done = tru">x</p></template><p slot="error"></p></jazz-query>
     <jazz-query id="col" table="tasks"><template><p jazz-class="x: done = true; y: colour = 'red'">x</p></template><p slot="error"></p></jazz-query>
     <jazz-query id="code" table="tasks"><template><p jazz-if="alert(1)">x</p></template><p slot="error"></p></jazz-query>
     <jazz-query id="on" table="tasks"><template><p jazz-attr="onclick: done = true">x</p></template><p slot="error"></p></jazz-query>
     <jazz-query id="fmt" table="tasks"><template><p>{{due | dat}}</p></template><p slot="error"></p></jazz-query>
     <jazz-query id="sel" table="tasks" select="title"><template><p jazz-if="done = true">{{title}}</p></template><p slot="error"></p></jazz-query>`,
    DB,
    SCHEMA,
  );
  for (const id of ['parse', 'col', 'code', 'on', 'fmt', 'sel']) await expect(page.locator(`#${id}`)).toHaveAttribute('state', 'error');
  const errors = await page.evaluate(() => window.seen['jazz-error'].map((e: { target: string; code: string; attribute?: string; position?: number }) => [e.target, e.code, e.attribute, e.position]));
  expect(errors).toEqual(
    expect.arrayContaining([
      ['parse', 'QUERY_PARSE', 'jazz-if', 7],
      ['col', 'UNKNOWN_COLUMN', 'jazz-class', 19],
      ['code', 'QUERY_PARSE', 'jazz-if', 5],
      ['on', 'TEMPLATE_INVALID', undefined, undefined],
      ['fmt', 'TEMPLATE_INVALID', undefined, undefined],
      ['sel', 'UNKNOWN_COLUMN', 'jazz-if', 0],
    ]),
  );
  await expect(page.locator('#fmt [slot=error]')).toContainText('unknown formatter "dat"; the formatters are date, time, datetime, relative');
  expect(warnings).toHaveLength(6);
});

test("formatters: dates, times, relative times, numbers, plurals, empty values, lengths, booleans and lists, in the user's locale", async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query id="q" table="tasks" order-by="title">
       <template><div class="r">
         <b class="d">{{due | date}}</b> <b class="ds">{{due | date: short}}</b> <b class="t">{{due | time}}</b> <b class="dt">{{due | datetime}}</b>
         <b class="rel">{{due | relative | default: "no date"}}</b> <b class="n">{{estimate | number}}</b> <b class="n2">{{estimate | number: 2}}</b>
         <b class="pc">{{estimate | percent}}</b> <b class="eur">{{estimate | currency: EUR}}</b> <b class="pl">{{points | plural: "# point", "# points"}}</b>
         <b class="who">{{assignee | default: "nobody"}}</b> <b class="len">{{title | length}}</b> <b class="yn">{{done | yesno: "done", "open"}}</b>
         <b class="cut">{{title | truncate: 6}}</b> <b class="tags">{{tags | list}}</b> <a href="{{link | default: 'javascript:window.__pwned=3'}}">x</a>
       </div></template>
     </jazz-query>`,
    DB,
    SCHEMA,
  );
  const now = await page.evaluate(() => Date.now());
  await insert(page, 'tasks', [
    { title: 'a first task', due: 1798137000000, estimate: 1234.5, points: 1, done: true, tags: ['red', 'green', EVIL] },
    { title: `b ${EVIL}`, due: now - 3 * 60_000, estimate: 0.256, points: 2, assignee: EVIL },
    { title: 'c', due: null, estimate: 12.5, points: 0 },
  ]);
  const rows = page.locator('#q .r');
  await expect(rows).toHaveCount(3);
  const cells = (cls: string) => rows.locator(`.${cls}`).allTextContents();
  expect(await cells('d')).toEqual(['Dec 24, 2026', expect.any(String), '']);
  expect(await cells('ds')).toEqual(['12/24/26', expect.any(String), '']);
  expect((await cells('t'))[0]).toBe('6:30 PM');
  expect((await cells('dt'))[0]).toBe('Dec 24, 2026, 6:30 PM');
  expect(await cells('rel')).toEqual([expect.stringMatching(/^in /), '3 minutes ago', 'no date']);
  expect(await cells('n')).toEqual(['1,234.5', '0.256', '12.5']);
  expect(await cells('n2')).toEqual(['1,234.50', '0.26', '12.50']);
  expect(await cells('pc')).toEqual(['123,450%', '26%', '1,250%']);
  expect(await cells('eur')).toEqual(['€1,234.50', '€0.26', '€12.50']);
  expect(await cells('pl')).toEqual(['1 point', '2 points', '0 points']);
  expect(await cells('who')).toEqual(['nobody', EVIL, 'nobody']);
  expect(await cells('len')).toEqual(['12', String(2 + [...EVIL].length), '1']);
  expect(await cells('yn')).toEqual(['done', 'open', 'open']);
  expect(await cells('cut')).toEqual(['a fir…', 'b <im…', 'c']);
  expect(await cells('tags')).toEqual([`red, green, and ${EVIL}`, '', '']);
  // A formatter's output is a value like any other: a javascript: URL it gives is still blocked.
  expect(await rows.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(Array(3).fill('about:invalid#blocked'));
  await noScriptRan(page);
  expect(await errorsSeen(page)).toEqual([]);
});

test('<jazz-count>: a live count with plurals and aggregates, nothing before the first result, and actions on every row as one batch', async ({ shared: page }) => {
  await mount(
    page,
    `<p id="left"><jazz-count id="open" table="tasks" where="done = false"><template>{{count | plural: zero="Nothing left", one="# task left", other="# tasks left"}}</template></jazz-count></p>
     <jazz-count id="plain" table="tasks"></jazz-count>
     <jazz-count id="sums" table="tasks" sum="estimate" avg="points" min="title" max="due"><template><i class="s">{{sum | number: 1}}</i> <i class="a">{{avg | number: 1}}</i> <i class="mn">{{min}}</i> <i class="mx">{{max | date}}</i></template></jazz-count>
     <jazz-count id="all" table="tasks"><template>
       <label jazz-if="count > 0"><input id="toggle" type="checkbox" jazz-field="done"> all done</label>
       <button id="clear" jazz-action="delete" jazz-attr="disabled: count = 0">Delete all {{count}}</button>
     </template></jazz-count>
     <jazz-query id="rows" table="tasks" order-by="title"><template><p>{{title}}</p></template></jazz-query>`,
    'driver="memory" worker-url="/e2e/worker/slow-open.worker.ts?hold=1500"',
    SCHEMA,
  );
  // Before the database opens: no "0 tasks", no toggle, no button.
  await expect(page.locator('#open')).toHaveAttribute('state', 'loading');
  expect(await page.locator('#left').textContent()).toBe('');
  await expect(page.locator('#clear')).toHaveCount(0);
  await expect(page.locator('#open')).toHaveAttribute('count', '0');
  await expect(page.locator('#left')).toHaveText('Nothing left');
  await expect(page.locator('#plain')).toHaveText('0');
  await expect(page.locator('#clear')).toBeDisabled();
  await expect(page.locator('#toggle')).toBeHidden();

  await insert(page, 'tasks', [
    { title: 'b', estimate: 1.25, points: 2, due: 1798137000000 },
    { title: EVIL, estimate: 2, points: 3, due: 1 },
  ]);
  await expect(page.locator('#left')).toHaveText('2 tasks left');
  await expect(page.locator('#plain')).toHaveText('2');
  await expect(page.locator('#sums .s')).toHaveText('3.3');
  await expect(page.locator('#sums .a')).toHaveText('2.5');
  await expect(page.locator('#sums .mn')).toHaveText(EVIL);
  await expect(page.locator('#sums .mx')).toHaveText('Dec 24, 2026');
  await expect(page.locator('#clear')).toHaveText('Delete all 2');
  await expect(page.locator('#toggle')).not.toBeChecked();

  // The toggle writes done to every row, in one batch: the list sees one change with both rows.
  await page.evaluate(() => (window.seen['jazz-change'] = []));
  await page.locator('#toggle').check();
  await expect(page.locator('#left')).toHaveText('Nothing left');
  // (The count and the list are two live queries: the list's change may come a moment after the count's.)
  const changes = () => page.evaluate(() => window.seen['jazz-change'].filter((c: { target: string }) => c.target === 'rows').map((c: { changed: unknown[] }) => c.changed.length));
  await expect.poll(changes).toEqual([2]);
  // Undoing one row by other means unchecks it: not every row is done.
  await page.evaluate(async () => {
    const db = document.querySelector('jazz-db')!.db!;
    const [first] = await db.all(db.app['tasks']!.orderBy('title'));
    await db.update('tasks', first!.id, { done: false }).wait();
  });
  await expect(page.locator('#toggle')).not.toBeChecked();
  await expect(page.locator('#left')).toHaveText('1 task left');
  await page.locator('#clear').click();
  await expect(page.locator('#rows p')).toHaveCount(0);
  await expect(page.locator('#plain')).toHaveText('0');
  await expect(page.locator('#sums .a')).toHaveText('');
  await expect(page.locator('#clear')).toBeDisabled();
  await noScriptRan(page);
  expect(await errorsSeen(page)).toEqual([]);
});

test("queries that follow the page: a search box, the URL's search and hash; page text is a value, never grammar", async ({ shared: page }) => {
  await mount(
    page,
    `<input id="search" aria-label="Search"> <input id="min" aria-label="At least"> <label><input id="done" type="checkbox"> done</label>
     <jazz-nav id="nav" current-class="on"><a href="#/">All</a> <a href="#/open">Open</a> <a href="#/done">Done</a></jazz-nav>
     <jazz-query id="found" table="tasks" order-by="title" where="title contains {{#search}} and points >= {{#min}}"><template><p>{{title}}</p></template></jazz-query>
     <jazz-query id="tab" table="tasks" order-by="title" where-route="#/open: done = false; #/done: done = true; ?who=bob: assignee = 'bob'"><template><p>{{title}}</p></template></jazz-query>
     <jazz-query id="box" table="tasks" order-by="title" where="done = {{#done}}"><template><p>{{title}}</p></template></jazz-query>
     <jazz-count id="n" table="tasks" where="title contains {{#search}}"></jazz-count>`,
    DB,
    SCHEMA,
  );
  await insert(page, 'tasks', [
    { title: 'buy milk', points: 1 },
    { title: 'buy bread', points: 5, done: true, assignee: 'bob' },
    { title: 'call "mum"', points: 3 },
    { title: `say ${EVIL}`, points: 2 },
  ]);
  const found = page.locator('#found p');
  const tab = page.locator('#tab p');
  // Empty values filter nothing.
  await expect(found).toHaveCount(4);
  await page.locator('#search').fill('buy');
  await expect(found).toHaveText(['buy bread', 'buy milk']);
  await expect(page.locator('#n')).toHaveText('2');
  await page.locator('#min').fill('2');
  await expect(found).toHaveText(['buy bread']);
  // Letters for a number match nothing; quotes and grammar in the box are text to look for.
  await page.locator('#min').fill('lots');
  await expect(found).toHaveCount(0);
  await page.locator('#min').fill('');
  for (const text of ['" or title != "', "') or (1 = 1"]) {
    await page.locator('#search').fill(text);
    await expect(page.locator('#n')).toHaveText('0');
    await expect(found).toHaveCount(0);
  }
  await page.locator('#search').fill('"mum"');
  await expect(found).toHaveText(['call "mum"']);
  await page.locator('#search').fill('<img');
  await expect(found).toHaveText([`say ${EVIL}`]);
  // A checkbox's value is whether it is checked.
  await expect(page.locator('#box p')).toHaveText(['buy milk', 'call "mum"', `say ${EVIL}`]);
  await page.locator('#done').check();
  await expect(page.locator('#box p')).toHaveText(['buy bread']);
  // The hash: where-route and the nav's links follow it, and back.
  await expect(tab).toHaveCount(4);
  await expect(page.locator('#nav a.on')).toHaveText(['All']);
  await page.getByRole('link', { name: 'Done' }).click();
  await expect(tab).toHaveText(['buy bread']);
  await expect(page.locator('#nav a[aria-current=page]')).toHaveText(['Done']);
  await page.getByRole('link', { name: 'Open' }).click();
  await expect(tab).toHaveText(['buy milk', 'call "mum"', `say ${EVIL}`]);
  await page.goBack();
  await expect(tab).toHaveText(['buy bread']);
  await expect(page.locator('#nav a.on')).toHaveText(['Done']);
  // The search: ?who=bob, set by history (popstate) as a router would.
  await page.evaluate(() => {
    history.pushState(null, '', '?who=bob');
    dispatchEvent(new PopStateEvent('popstate'));
  });
  await expect(tab).toHaveText(['buy bread']);
  await noScriptRan(page);
  expect(await errorsSeen(page)).toEqual([]);
});

test('a where-route or page value that is wrong is reported when the query is built, with where it is', async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query id="r" table="tasks" where-route="#/a: done = false; #/b: colour = 1"><template><p>{{title}}</p></template><p slot="error"></p></jazz-query>
     <jazz-query id="s" table="tasks" where="title = {{title}}"><template><p>{{title}}</p></template><p slot="error"></p></jazz-query>
     <jazz-query id="i" table="tasks" into="nowhere"><template><li>{{title}}</li></template><p slot="error"></p></jazz-query>`,
    DB,
    SCHEMA,
  );
  for (const id of ['r', 's', 'i']) await expect(page.locator(`#${id}`)).toHaveAttribute('state', 'error');
  const errors = await page.evaluate(() => window.seen['jazz-error'].map((e: { target: string; code: string; attribute?: string; position?: number }) => [e.target, e.code, e.attribute, e.position]));
  expect(errors).toEqual(
    expect.arrayContaining([
      ['r', 'UNKNOWN_COLUMN', 'where-route', 24],
      ['s', 'QUERY_INVALID', 'where', 8],
      ['i', 'ATTRIBUTE_INVALID', 'into', 0],
    ]),
  );
});

test("rows as a <ul>'s items, a <tbody>'s rows and a <select>'s options: valid markup, named controls", async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query table="members" order-by="name" into="people"><template><option value="{{name}}">{{name}}</option></template></jazz-query>
     <jazz-query table="tasks" order-by="title" into="rows"><template><tr><td>{{title}}</td><td><select jazz-field="assignee" aria-label="Assignee of {{title}}"><option value="">nobody</option><option value="bob">Bob</option></select></td></tr></template></jazz-query>
     <jazz-query table="tasks" order-by="title" into="items"><template><li>{{title}}</li></template></jazz-query>
     <label>Who <select id="people"><option value="">anyone</option></select></label>
     <table><thead><tr><th>Task</th><th>Who</th></tr></thead><tbody id="rows"></tbody></table>
     <ul id="items"><li class="head">first</li></ul>`,
    DB,
    SCHEMA,
  );
  await insert(page, 'members', [{ name: 'carol' }, { name: EVIL }]);
  await insert(page, 'tasks', [{ title: 'x' }, { title: EVIL }]);
  await expect(page.locator('#people option')).toHaveText(['anyone', EVIL, 'carol']);
  await page.locator('#people').selectOption('carol');
  await expect(page.locator('#people')).toHaveValue('carol');
  await expect(page.getByRole('table').getByRole('row')).toHaveCount(3);
  await expect(page.locator('#rows > tr > td:first-child')).toHaveText([EVIL, 'x']);
  expect(await page.locator('#items > *').evaluateAll((els) => els.map((e) => e.localName))).toEqual(['li', 'li', 'li']);
  await expect(page.getByRole('list').getByRole('listitem')).toHaveText(['first', EVIL, 'x']);
  // A row's control, in a table row outside the query, still writes its row.
  await page.getByRole('combobox', { name: 'Assignee of x' }).selectOption('bob');
  await expect
    .poll(() => page.evaluate(async () => (await document.querySelector('jazz-db')!.db!.all(document.querySelector('jazz-db')!.db!.app['tasks']!)).map((t) => [t['title'], t['assignee']]).sort()))
    .toEqual([
      [EVIL, null],
      ['x', 'bob'],
    ]);
  await noScriptRan(page);
});

test('editing in place by keyboard: a button starts it, Enter saves, a value that does not fit keeps it open with its message, Escape cancels', async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query table="tasks" order-by="title" into="list"><template><li>
       <span class="t">{{title}}</span> <span class="p">{{points}}</span>
       <button jazz-action="edit" aria-label="Edit points of {{title}}">Edit</button>
       <input class="e" jazz-edit="points" aria-label="Points of {{title}}">
     </li></template></jazz-query><ul id="list"></ul>`,
    DB,
    SCHEMA,
  );
  await insert(page, 'tasks', [{ title: EVIL, points: 1 }]);
  const edit = page.locator('#list .e');
  await expect(edit).toBeHidden();
  await page.getByRole('button', { name: `Edit points of ${EVIL}` }).focus();
  await page.keyboard.press('Enter');
  await expect(edit).toBeFocused();
  await expect(page.locator('#list li')).toHaveClass('editing');
  await expect(edit).toHaveValue('1');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('two');
  await page.keyboard.press('Enter');
  expect(await edit.evaluate((el: HTMLInputElement) => el.validationMessage)).toContain('Enter a number');
  await expect(edit).toBeVisible();
  await edit.fill(' 5 ');
  await edit.press('Enter');
  await expect(page.locator('#list .p')).toHaveText('5');
  await expect(edit).toBeHidden();
  await expect(page.locator('#list li')).not.toHaveClass('editing');
  await page.getByRole('button', { name: `Edit points of ${EVIL}` }).click();
  await edit.fill('9');
  await edit.press('Escape');
  await expect(edit).toBeHidden();
  await expect(page.locator('#list .p')).toHaveText('5');
  await noScriptRan(page);
});

test('virtual: 10,000 rows render only what is on screen, scroll on, and say where each row is', async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query id="v" table="tasks" order-by="points" into="big" virtual><template><li class="row">{{title}}</li></template></jazz-query>
     <ul id="big" style="margin:0;padding:0"></ul>`,
    DB,
    SCHEMA,
  );
  const t0 = Date.now();
  await page.evaluate(async (evil) => {
    const db = document.querySelector('jazz-db')!.db!;
    await db.ready;
    await db
      .batch((b) => {
        for (let i = 0; i < 10_000; i++) b.insert('tasks', { title: i === 9_999 ? evil : `task ${i}`, points: i });
      })
      .wait();
  }, EVIL);
  await expect(page.locator('#v')).toHaveAttribute('state', 'ready');
  await expect(page.locator('#big > li.row').first()).toHaveText('task 0');
  console.log(`[elements-html] 10,000 rows written and the first shown in ${Date.now() - t0} ms`);
  const shown = await page.locator('#big > li.row').count();
  expect(shown).toBeGreaterThan(5);
  expect(shown).toBeLessThan(200);
  await expect(page.locator('#big > li.row').first()).toHaveAttribute('aria-setsize', '10000');
  await expect(page.locator('#big > li.row').first()).toHaveAttribute('aria-posinset', '1');
  // Scrolled to the end (by the keyboard, as a person would), the last rows are there.
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await page.keyboard.press('End');
  await expect(page.locator('#big > li.row').last()).toHaveText(EVIL, { timeout: 15_000 });
  await expect(page.locator('#big > li.row').last()).toHaveAttribute('aria-posinset', '10000');
  expect(await page.locator('#big > li.row').count()).toBeLessThan(200);
  await noScriptRan(page);
});

test('without virtual, 5,000 rows go into the DOM a slice at a time, in order, and a change patches the one row', async ({ shared: page }) => {
  await mount(page, `<jazz-query id="p" table="tasks" order-by="points"><template><p class="row" data-points="{{points}}">{{title}}</p></template></jazz-query>`, DB, SCHEMA);
  // When the first result arrives, only its first rows are in the DOM; the rest follow in later tasks.
  const first = page.evaluate(
    () =>
      new Promise<{ total: number; shown: number }>((resolve) => {
        const q = document.getElementById('p')!;
        q.addEventListener('jazz-results', (e) => {
          const total = (e as CustomEvent).detail.rows.length;
          if (total) resolve({ total, shown: q.querySelectorAll('.row').length });
        });
      }),
  );
  await page.evaluate(async () => {
    const db = document.querySelector('jazz-db')!.db!;
    await db.ready;
    await db
      .batch((b) => {
        for (let i = 0; i < 5_000; i++) b.insert('tasks', { title: `task ${i} ✓`, points: i });
      })
      .wait();
  });
  const r = await first;
  expect(r.total).toBe(5_000);
  expect(r.shown).toBeGreaterThan(0);
  expect(r.shown).toBeLessThan(5_000);
  await expect(page.locator('#p .row')).toHaveCount(5_000, { timeout: 30_000 });
  const points = await page.locator('#p .row').evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset['points'])));
  expect(points).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
  // One row changed: that row's text changes, and no other row element is replaced.
  await page.evaluate(() => {
    const rows = [...document.querySelectorAll('#p .row')];
    (window as any).__kept = rows;
  });
  await page.evaluate(async () => {
    const q = document.getElementById('p') as any;
    const id = q.rows[2_500].id;
    await document.querySelector('jazz-db')!.db!.update('tasks', id, { title: 'changed ✓' }).wait();
  });
  await expect(page.locator('#p .row').nth(2_500)).toHaveText('changed ✓');
  expect(await page.evaluate(() => [...document.querySelectorAll('#p .row')].every((el, i) => el === (window as any).__kept[i]))).toBe(true);
});

test('a long result shows its first rows before the rest is read: busy until whole, its events once, for the whole', async ({ shared: page }) => {
  await mount(page, `<div id="slot"></div>`, DB, SCHEMA);
  await insert(
    page,
    'tasks',
    Array.from({ length: 3_000 }, (_, i) => ({ title: `task ${i} ✓`, points: 3_000 - i })),
  );
  // A query added now reads 3,000 rows: what the page sees, in order, as it happens.
  const seen = await page.evaluate(
    () =>
      new Promise<{ busy: (string | null)[]; shownWhenBusy: number; rowsWhenBusy: number; results: number[]; settled: number; points: number[] }>((resolve) => {
        const out = { busy: [] as (string | null)[], shownWhenBusy: -1, rowsWhenBusy: -1, results: [] as number[], settled: 0, points: [] as number[] };
        const q = document.createElement('jazz-query');
        q.setAttribute('table', 'tasks');
        q.setAttribute('order-by', 'points');
        q.innerHTML = '<template><p class="row" data-points="{{points}}">{{title}}</p></template>';
        new MutationObserver(() => {
          const b = q.getAttribute('aria-busy');
          if (b === out.busy.at(-1)) return;
          out.busy.push(b);
          if (b === 'true') {
            out.shownWhenBusy = q.querySelectorAll('.row').length;
            out.rowsWhenBusy = q.rows.length;
            out.points = [...q.querySelectorAll<HTMLElement>('.row')].map((el) => Number(el.dataset['points']));
          }
        }).observe(q, { attributes: true, attributeFilter: ['aria-busy'] });
        q.addEventListener('jazz-results', (e) => out.results.push((e as CustomEvent).detail.rows.length));
        q.addEventListener('jazz-settled', () => {
          out.settled++;
          setTimeout(() => resolve(out), 200);
        });
        document.getElementById('slot')!.append(q);
      }),
  );
  // First rows shown while busy (ordered as in the whole result), then the whole: one event each.
  expect(seen.busy).toEqual(['true', null]);
  expect(seen.rowsWhenBusy).toBe(200);
  expect(seen.shownWhenBusy).toBe(200);
  expect(seen.points).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  expect(seen.results).toEqual([3_000]);
  expect(seen.settled).toBe(1);
  await expect(page.locator('#slot .row')).toHaveCount(3_000, { timeout: 30_000 });
  expect(await errorsSeen(page)).toEqual([]);
});

test('virtual: a long result takes its whole height with its first rows when the worker knows its length; with a where, when the rest comes', async ({ shared: page }) => {
  // The whole results come 800 ms after the first rows (e2e/worker/slow-rest.worker.ts).
  await mount(page, `<div id="slot"></div>`, 'driver="memory" worker-url="/e2e/worker/slow-rest.worker.ts?rest=800"', SCHEMA);
  await insert(
    page,
    'tasks',
    Array.from({ length: 3_000 }, (_, i) => ({ title: `task ${i} ✓`, points: 3_000 - i })),
  );
  // Two virtual queries added now, each reading 3,000 rows (all of them; those with points > 10):
  // what each shows while busy, and once whole.
  const seen = await page.evaluate(() =>
    Promise.all(
      ['', 'points > 10'].map(
        (where) =>
          new Promise<Record<string, string | number | null>>((resolve) => {
            const out: Record<string, string | number | null> = { busySize: null, busyShown: 0, busyFirst: null, busyHeight: 0, size: null, height: 0, last: null, lastAt: null };
            // Each list scrolls in a box of its own (the virtualizer renders what the box shows).
            const box = Object.assign(document.createElement('div'), { style: 'height:400px;overflow:auto' });
            const q = document.createElement('jazz-query');
            q.setAttribute('table', 'tasks');
            q.setAttribute('order-by', 'points');
            if (where) q.setAttribute('where', where);
            q.setAttribute('virtual', '');
            q.innerHTML = '<template><p class="row" style="margin:0;height:20px">{{title}}</p></template>';
            box.append(q);
            const rows = () => box.querySelectorAll<HTMLElement>('.row');
            // The rows show in a frame after the first rows came: looked at then, and once whole.
            new MutationObserver(() => {
              const r = rows()[0];
              if (!r || !q.hasAttribute('aria-busy') || out.busySize) return;
              out.busySize = r.getAttribute('aria-setsize');
              out.busyShown = rows().length;
              out.busyFirst = r.textContent;
              out.busyHeight = box.scrollHeight;
              // Scrolled to the end before the rows there have come (a person may well), once the
              // virtualizer has measured the rows it shows.
              if (!where) setTimeout(() => (box.scrollTop = box.scrollHeight), 150);
            }).observe(box, { childList: true, subtree: true, attributes: true });
            q.addEventListener('jazz-settled', () =>
              setTimeout(() => {
                out.size = rows()[0]!.getAttribute('aria-setsize');
                out.height = box.scrollHeight;
                const last = [...rows()].at(-1)!;
                out.last = last.textContent;
                out.lastAt = last.getAttribute('aria-posinset');
                resolve(out);
              }, 300),
            );
            document.getElementById('slot')!.append(box);
          }),
      ),
    ),
  );
  const [all, filtered] = seen;
  // Every row of the table: the length came with the first rows, so the list is as tall as it will be.
  // Scrolled to the end while busy: the last rows show once they have come.
  expect(all).toMatchObject({ busySize: '3000', busyFirst: 'task 2999 ✓', size: '3000', last: 'task 0 ✓', lastAt: '3000' });
  expect(all!.busyShown).toBeGreaterThan(5);
  expect(all!.busyShown).toBeLessThan(200);
  // Rows are 20 px tall (the virtualizer guesses taller until it has measured some).
  expect(all!.busyHeight).toBeGreaterThanOrEqual(3_000 * 20);
  expect(all!.height).toBeGreaterThanOrEqual(3_000 * 20);
  // A where: the length is known once the rows are read; the first rows say what is there so far.
  expect(filtered).toMatchObject({ busySize: '200', busyFirst: 'task 2989 ✓', size: '2990' });
  expect(filtered!.busyHeight).toBeLessThan(2_990 * 20);
  expect(filtered!.height).toBeGreaterThanOrEqual(2_990 * 20);
  expect(await errorsSeen(page)).toEqual([]);
});
