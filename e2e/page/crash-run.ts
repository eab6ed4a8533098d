/**
 * One round of the Firefox crash test, run by the page itself (`e2e/crash.html`): Firefox is
 * started straight on this page, without WebDriver (a WebDriver BiDi session waits for Firefox's
 * startup idle tasks, seconds per launch), so the URL says what to do and the page reports to the
 * spec's loopback server (`support/engines.ts`' `reportServer`):
 *
 *   ?report=<url>&long=<n>[&write=<round>]
 *
 * opens the database `crash` on `opfs`, posts what it reads back (`readBackInPage`, with the
 * status' driver, as JSON; `{ failed }` if it could not), then, with `write`, writes until the
 * browser is killed and posts the lines of every confirmed write (`writeUntilKilled`).
 */
import { createDb, s } from '../../worker/page/index.ts';
import { SCHEMA } from '../support/client-page.ts';
import { readBackInPage, writeUntilKilled } from '../support/crash-steps.ts';

declare global {
  interface Window {
    t: Record<string, any>;
  }
}

const q = new URLSearchParams(location.search);
const report = q.get('report')!;
const LONG = 'L'.repeat(Number(q.get('long')));
const post = (body: unknown) => fetch(report, { method: 'POST', mode: 'no-cors', body: JSON.stringify(body) });

async function run(): Promise<void> {
  const app = s.fromJSON(SCHEMA as never) as any;
  const db = createDb({ app, driver: { type: 'opfs', dbName: 'crash' } });
  await db.ready;
  window.t = { app, db };
  await post({ ...(await readBackInPage(LONG)), driver: db.status.driver });
  if (q.has('write')) writeUntilKilled({ round: Number(q.get('write')), LONG, report });
}

run().catch((e: unknown) => post({ failed: String(e) }));
