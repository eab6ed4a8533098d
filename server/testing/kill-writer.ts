/**
 * Child process of the SIGKILL test (fs-store.test.ts): commits to the database at argv[2] until it
 * is killed, printing `ack <key>` for every key whose commit was confirmed durable.
 * argv[3] names the round, so every key is unique across rounds.
 */
import { openFileStore } from '../fs-store.ts';

const [file, round] = [process.argv[2]!, process.argv[3]!];
const store = openFileStore(file, { pageSize: 4096, checkpointWalBytes: 256 * 1024 });
const enc = new TextEncoder();
process.stdout.write('ready\n');

let i = 0;
for (;;) {
  // Sometimes several commits in one tick (group commit), sometimes one; now and then a big value.
  const group = i % 5 === 0 ? 4 : 1;
  const commits: Promise<void>[] = [];
  for (let g = 0; g < group; g++, i++) {
    const key = `r${round}-${String(i).padStart(7, '0')}`;
    const tx = store.transaction();
    const value = new Uint8Array(i % 97 === 0 ? 20_000 : 200).fill(i & 0xff);
    tx.put(enc.encode(key), value);
    if (i % 3 === 0) tx.put(enc.encode(`counter-${round}`), enc.encode(String(i)));
    commits.push(tx.commit().then(() => void process.stdout.write(`ack ${key}\n`)));
  }
  await Promise.all(commits);
}
