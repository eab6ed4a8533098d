/**
 * The database worker (`worker/worker.ts`) as a page sees it when opening takes a while (a big
 * database, a slow disk, another tab holding the lock): nothing the page sends is answered for the
 * first `?hold=<ms>` (default 1500), then everything is, in order. `e2e/elements.spec.ts` starts it
 * through `<jazz-db worker-url>` to write before the database is open.
 */
import './hold-messages.ts';
import '../../worker/worker.ts';
