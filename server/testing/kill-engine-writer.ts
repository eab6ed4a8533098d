/**
 * Child process of the engine-level SIGKILL test (file-db-kill.test.ts): writes to the database at
 * argv[2] through `createDb` until it is killed. Prints, once each write is confirmed at tier
 * `local`:
 *   `ack <rowId>`        a row it inserted (single inserts and batches with a new project);
 *   `upd <rowId> <n>`    an update that set the row's priority to n (n grows per row).
 * Every thirteenth write or so carries long values (a 20 KB title, a long tag, 64 KiB of JSON).
 * argv[3] names the round; titles carry it so rows of different rounds are told apart.
 */
import { createDb } from '../index.ts';
import { todoApp as app } from '../../src/testing/fixtures.ts';

const [file, round] = [process.argv[2]!, process.argv[3]!];
// A small checkpoint threshold, so kills also land inside checkpoints.
const db = createDb({ app, driver: { type: 'file', path: file, pageSize: 4096, checkpointWalBytes: 128 * 1024 } });
process.stdout.write('ready\n');

/** The prefix of the long titles (file-db-kill.test.ts checks them). */
const LONG = 'L'.repeat(20_000);
const mine: string[] = [];
const priority = new Map<string, number>();
let i = 0;
for (;;) {
  const step = i % 6;
  if (step === 0) {
    // A batch: a project and four todos that point to it, one fate.
    const h = db.batch((b) => {
      const p = b.insert(app.projects, { name: `p${round}-${i}` });
      for (let k = 0; k < 4; k++) b.insert(app.todos, { title: `r${round}-${i}-${k}`, priority: k, tags: k % 2 ? ['odd'] : ['even'], projectId: p.id });
    });
    await h.wait({ tier: 'local' });
    for (const id of h.ids.slice(1)) {
      mine.push(id);
      process.stdout.write(`ack ${id}\n`);
    }
  } else if (step === 3 && mine.length > 0) {
    // Several updates in one tick (group commit), each awaited.
    const targets = [0, 1, 2].map((k) => mine[(i * 7 + k * 13) % mine.length]!);
    await Promise.all(
      [...new Set(targets)].map((id) => {
        const n = (priority.get(id) ?? 0) + 1;
        priority.set(id, n);
        return db
          .update(app.todos, id, { priority: n, done: n % 2 === 0 })
          .wait({ tier: 'local' })
          .then(() => void process.stdout.write(`upd ${id} ${n}\n`));
      }),
    );
  } else if (i % 13 === 7) {
    // A long value: a title sharing a 20 KB prefix with the others (its index entry is cut), a
    // long tag, 64 KiB of JSON. They live in overflow pages and in the WAL like everything else.
    const h = db.insert(app.todos, { title: `${LONG}r${round}-${i}`, tags: [`${LONG}${i}`, 'long'], meta: { text: 'm'.repeat(64 * 1024), i } });
    await h.wait({ tier: 'local' });
    mine.push(h.id);
    process.stdout.write(`ack ${h.id}\n`);
  } else {
    const h = db.insert(app.todos, { title: `r${round}-${i}`, meta: { i }, due: 1_700_000_000_000 + i });
    await h.wait({ tier: 'local' });
    mine.push(h.id);
    process.stdout.write(`ack ${h.id}\n`);
    if (i % 11 === 5) {
      // Now and then delete a row and restore it in one batch: it must never be missing.
      const victim = mine[i % mine.length]!;
      await db
        .batch((b) => {
          b.delete(app.todos, victim);
          b.restore(app.todos, victim);
        })
        .wait({ tier: 'local' });
    }
  }
  i++;
}
