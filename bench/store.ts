/**
 * Store benchmark on Node files (P2, P3, P5, P7), beside raw `fs` writes of the same
 * bytes in the same run. Run: `npx tsx bench/store.ts` (RUNS=n to change the repetitions).
 *
 * Durability setting: every commit awaited at tier `local` (WAL fdatasync); raw baselines fsync at
 * the same points. Files go under .tmp/ and are deleted at the end. The OS page cache is warm
 * for "cold open" (dropping it needs root): it measures our open path, not the disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openFileStore } from '../server/fs-store.ts';

const ROWS = 100_000;
const BATCH = 1_000;
const VALUE_BYTES = 200;
const UPDATES = 1_000;
const RUNS = Number(process.env['RUNS'] ?? 3);
const dir = path.resolve('.tmp', `bench-store-${process.pid}`);

function key(i: number): Uint8Array {
  // Shaped like the engine's visible-row keys: (table, 'v', branch, rowId) with a time-ordered id.
  const k = new Uint8Array(24);
  k.set([0x74, 0x6f, 0x64, 0x6f, 0x00, 0x76, 0x00, 0x6d, 0x61, 0x69, 0x6e, 0x00]);
  new DataView(k.buffer).setFloat64(12, 1_700_000_000_000 + i * 3);
  new DataView(k.buffer).setUint32(20, (i * 2654435761) >>> 0);
  return k;
}

function value(i: number, salt = 0): Uint8Array {
  const v = new Uint8Array(VALUE_BYTES);
  for (let b = 0; b < v.length; b++) v[b] = (i * 31 + b * 7 + salt) & 0xff;
  return v;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
const median = (xs: number[]) => quantile(xs, 0.5);
const ms = (x: number) => `${x.toFixed(3)} ms`;
const rnd = (() => {
  let a = 12345;
  return () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 2 ** 32;
})();

/** Raw sequential writes: `bytes` in 16 KiB chunks, fdatasync `flushes` times evenly. */
function rawWrite(file: string, bytes: number, flushes: number): number {
  const fd = fs.openSync(file, 'w');
  const chunk = new Uint8Array(16384).fill(7);
  const chunks = Math.ceil(bytes / chunk.length);
  const every = Math.max(1, Math.floor(chunks / flushes));
  const t0 = performance.now();
  for (let c = 0; c < chunks; c++) {
    fs.writeSync(fd, chunk, 0, chunk.length, c * chunk.length);
    if ((c + 1) % every === 0) fs.fdatasyncSync(fd);
  }
  fs.fdatasyncSync(fd);
  const t = performance.now() - t0;
  fs.closeSync(fd);
  fs.rmSync(file);
  return t;
}

/** Raw 16 KiB write + fdatasync latency, `n` times. */
function rawWriteFlush(file: string, n: number): number[] {
  const fd = fs.openSync(file, 'w');
  const chunk = new Uint8Array(16384).fill(3);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fs.writeSync(fd, chunk, 0, chunk.length, (i % 64) * chunk.length);
    fs.fdatasyncSync(fd);
    out.push(performance.now() - t0);
  }
  fs.closeSync(fd);
  fs.rmSync(file);
  return out;
}

function fileBytes(db: string): number {
  let n = 0;
  for (const f of [db, `${db}-wal`]) if (fs.existsSync(f)) n += fs.statSync(f).size;
  return n;
}

async function bulkLoad(db: string): Promise<{ ms: number; walBytes: number }> {
  const store = openFileStore(db);
  const t0 = performance.now();
  let walBytes = 0;
  for (let b = 0; b < ROWS / BATCH; b++) {
    const tx = store.transaction();
    for (let i = b * BATCH; i < (b + 1) * BATCH; i++) tx.put(key(i), value(i));
    walBytes += BATCH * (24 + VALUE_BYTES + 4) + 20;
    await tx.commit();
  }
  await store.close();
  return { ms: performance.now() - t0, walBytes };
}

async function main(): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  try {
    const logical = ROWS * (24 + VALUE_BYTES);
    console.log(`jazz-elements store benchmark: ${ROWS.toLocaleString()} rows of ${VALUE_BYTES} B, ${RUNS} runs, Node ${process.version}`);
    console.log('durability: every commit awaited until its WAL fdatasync (tier local); raw baselines fdatasync likewise\n');

    // P2: bulk load.
    const loads: number[] = [];
    const raws: number[] = [];
    let onDisk = 0;
    for (let r = 0; r < RUNS; r++) {
      const db = path.join(dir, `bulk-${r}`, 'db');
      const { ms: t, walBytes } = await bulkLoad(db);
      loads.push(t);
      onDisk = fileBytes(db);
      // Raw: the WAL bytes plus the data file, written sequentially, with as many flushes.
      raws.push(rawWrite(path.join(dir, `raw-${r}`), walBytes + onDisk, ROWS / BATCH + 2));
      fs.rmSync(path.dirname(db), { recursive: true, force: true });
    }
    const load = median(loads);
    const raw = median(raws);
    const rowsPerSec = ROWS / (load / 1000);
    const storeMiBs = logical / 2 ** 20 / (load / 1000);
    const rawMiBs = (ROWS * (24 + VALUE_BYTES + 4) + onDisk) / 2 ** 20 / (raw / 1000);
    console.log('P2 bulk load, 100 commits of 1k rows');
    console.log(
      `  store: median ${load.toFixed(0)} ms → ${Math.round(rowsPerSec).toLocaleString()} rows/s, ${storeMiBs.toFixed(1)} MiB/s of rows (runs: ${loads.map((x) => x.toFixed(0)).join(', ')} ms)`,
    );
    console.log(
      `  raw fs: same bytes (WAL + data file, ${((ROWS * 228 + onDisk) / 2 ** 20).toFixed(1)} MiB) in 16 KiB writes, ${ROWS / BATCH + 2} fdatasyncs: median ${raw.toFixed(0)} ms → ${rawMiBs.toFixed(0)} MiB/s`,
    );
    console.log(`  store row bandwidth / raw bandwidth: ${((storeMiBs / rawMiBs) * 100).toFixed(1)}%; store time / raw time: ${(load / raw).toFixed(2)}×\n`);

    // Build the 100k-row database used by the rest.
    const db = path.join(dir, 'main', 'db');
    await bulkLoad(db);

    // P3: serial durable updates.
    const serial: number[] = [];
    const groupedPerCommit: number[] = [];
    let serialTotal = 0;
    let groupedTotal = 0;
    for (let r = 0; r < RUNS; r++) {
      const store = openFileStore(db);
      const t0 = performance.now();
      for (let u = 0; u < UPDATES; u++) {
        const s = performance.now();
        const tx = store.transaction();
        const i = Math.floor(rnd() * ROWS);
        tx.put(key(i), value(i, u + r));
        await tx.commit();
        serial.push(performance.now() - s);
      }
      serialTotal += performance.now() - t0;
      // Group commit: the same number of commits, 50 issued per tick and awaited together.
      const g0 = performance.now();
      for (let u = 0; u < UPDATES; u += 50) {
        const commits: Promise<void>[] = [];
        for (let c = 0; c < 50; c++) {
          const tx = store.transaction();
          const i = Math.floor(rnd() * ROWS);
          tx.put(key(i), value(i, u + c + r));
          commits.push(tx.commit());
        }
        await Promise.all(commits);
      }
      const g = performance.now() - g0;
      groupedTotal += g;
      groupedPerCommit.push(g / UPDATES);
      await store.close();
    }
    const rawFlush = rawWriteFlush(path.join(dir, 'rawflush'), 500);
    console.log(`P3 ${UPDATES.toLocaleString()} serial single-row updates on ${ROWS.toLocaleString()} rows, each awaited durable (${RUNS} runs pooled)`);
    console.log(`  one flush per commit: p50 ${ms(median(serial))}, p95 ${ms(quantile(serial, 0.95))}`);
    console.log(`  raw fs 16 KiB write + fdatasync: p50 ${ms(median(rawFlush))}, p95 ${ms(quantile(rawFlush, 0.95))}`);
    console.log(`  group commit (50 commits per tick, one flush): ${ms(median(groupedPerCommit))} per commit`);
    console.log(`  group commit throughput / per-commit flush: ${(serialTotal / groupedTotal).toFixed(1)}×\n`);

    // P5: cold open → first 50 rows of a range scan.
    const opens: number[] = [];
    const firstRows: number[] = [];
    for (let r = 0; r < Math.max(5, RUNS); r++) {
      const t0 = performance.now();
      const store = openFileStore(db);
      const t1 = performance.now();
      let n = 0;
      for (const _ of store.scan({ gte: key(ROWS / 2) })) if (++n === 50) break;
      const t2 = performance.now();
      opens.push(t1 - t0);
      firstRows.push(t2 - t0);
      await store.close();
    }
    console.log('P5 open the 100k-row database, then the first 50 rows of a range scan (OS cache warm)');
    console.log(`  open: median ${ms(median(opens))}; open + 50 rows: median ${ms(median(firstRows))}, max ${ms(Math.max(...firstRows))}\n`);

    // P7: warm point reads, and a 3,000-row range.
    const store = openFileStore(db);
    for (let i = 0; i < ROWS; i += 97) store.get(key(i)); // warm up the cache a little
    const reads: number[] = [];
    for (let r = 0; r < 20_000; r++) {
      const k = key(Math.floor(rnd() * ROWS));
      const s = performance.now();
      store.get(k);
      reads.push(performance.now() - s);
    }
    const ranges: number[] = [];
    for (let r = 0; r < 20; r++) {
      const s = performance.now();
      let n = 0;
      for (const _ of store.scan({ gte: key(Math.floor(rnd() * (ROWS - 4000))) })) if (++n === 3000) break;
      ranges.push(performance.now() - s);
    }
    // Batched timing too: per-read cost without timer overhead.
    const b0 = performance.now();
    for (let r = 0; r < 100_000; r++) store.get(key(Math.floor(rnd() * ROWS)));
    const batched = (performance.now() - b0) / 100_000;
    await store.close();
    console.log('P7 warm reads');
    console.log(`  point read by key: p50 ${ms(median(reads))}, p95 ${ms(quantile(reads, 0.95))}; 100k in a loop: ${ms(batched)} each`);
    console.log(`  range of 3,000 rows: median ${ms(median(ranges))}`);
    console.log(`\n  data file ${(fs.statSync(db).size / 2 ** 20).toFixed(1)} MiB for ${(logical / 2 ** 20).toFixed(1)} MiB of rows`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
