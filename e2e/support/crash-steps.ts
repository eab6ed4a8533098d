/**
 * The crash tests' page-side steps (R4), shared by the Chromium spec (client-crash.spec.ts, which
 * evaluates them in its page), the Firefox one (engines/firefox/crash.spec.ts, whose page
 * `e2e/crash.html` runs them by itself) and re-exported by support/scenarios.ts. No imports: a
 * page module loads this file as it is, and each function is self-contained (no closure), so it
 * can be evaluated in any page where `window.t` holds `{ app, db }`.
 */

/**
 * The crash tests' reader: every row's [id, title], long titles (those holding the whole prefix
 * `LONG`) as `LONG+<rest>`, and the long titles read through the title index, in order.
 */
export async function readBackInPage(LONG: string): Promise<{ rows: [string, string][]; longByIndex: string[] }> {
  const { app, db } = window.t;
  const short = (t: string) => (t.startsWith(LONG) ? `LONG+${t.slice(LONG.length)}` : t);
  const rows = (await db.all(app.todos)).map((r: any) => [r.id, short(r.title)]) as [string, string][];
  const longByIndex = (await db.all(app.todos.where({ title: { gte: LONG, lt: 'M' } }).orderBy('title'))).map((r: any) => short(r.title));
  return { rows, longByIndex };
}

/**
 * The crash tests' writer: inserts for ever (up to 16 in flight, every 100th with the long title
 * `LONG + title`), and tells of each write once it is confirmed at `local` with the line
 * `confirmed <id> <title> <1 if long>`: on the console, or, with `report`, in POSTs to that URL
 * (the lines of every 20 ms in one, for a page that no driver listens to). Returns at once; the
 * loop runs until the browser dies.
 */
export function writeUntilKilled({ round, LONG, report }: { round: number; LONG: string; report?: string }): void {
  const { app, db } = window.t;
  let seq = 0;
  let inFlight = 0;
  let lines: string[] = [];
  if (report) {
    setInterval(() => {
      if (lines.length === 0) return;
      void fetch(report, { method: 'POST', mode: 'no-cors', body: lines.join('\n') });
      lines = [];
    }, 20);
  }
  const pump = (): void => {
    while (inFlight < 16) {
      const title = `r${round}-${seq++}`;
      const long = seq % 100 === 0;
      const h = db.insert(app.todos, { title: long ? LONG + title : title, priority: seq % 100 });
      inFlight++;
      h.wait({ tier: 'local' }).then(() => {
        const line = `confirmed ${h.id} ${title} ${long ? 1 : 0}`;
        if (report) lines.push(line);
        else console.log(line);
        inFlight--;
        pump();
      });
    }
  };
  pump();
}

/** Takes a line of `writeUntilKilled` into `confirmed` (id → title); true if it was one. */
export function heardConfirmed(text: string, confirmed: Map<string, string>): boolean {
  if (!text.startsWith('confirmed ')) return false;
  const [, id, title, long] = text.split(' ');
  confirmed.set(id!, long === '1' ? `LONG+${title!}` : title!);
  return true;
}
