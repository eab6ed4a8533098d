/**
 * P1: raw OPFS sync-access-handle writes in a dedicated worker, the ceiling.
 * Message { mib } → { noFlushMiBs, flushEachMiBs, flushEach: number[] (ms per write+flush) }.
 */
/// <reference lib="webworker" />
const PAGE = 16 * 1024;

self.onmessage = async (e: MessageEvent<{ mib: number; flushWrites: number }>) => {
  try {
    const root = await navigator.storage.getDirectory();
    const name = 'bench-p1.bin';
    const buf = new Uint8Array(PAGE);
    for (let i = 0; i < PAGE; i++) buf[i] = (i * 31) & 255;
    const run = async (writes: number, flushEach: boolean) => {
      await root.removeEntry(name).catch(() => {});
      const fh = await root.getFileHandle(name, { create: true });
      const h = await (fh as any).createSyncAccessHandle();
      const lat: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < writes; i++) {
        const a = performance.now();
        h.write(buf, { at: i * PAGE });
        if (flushEach) h.flush();
        if (flushEach) lat.push(performance.now() - a);
      }
      h.flush();
      const ms = performance.now() - t0;
      h.close();
      await root.removeEntry(name).catch(() => {});
      return { ms, mibs: (writes * PAGE) / 1024 / 1024 / (ms / 1000), lat };
    };
    const n = Math.round((e.data.mib * 1024 * 1024) / PAGE);
    const noFlush: number[] = [];
    for (let r = 0; r < 3; r++) noFlush.push((await run(n, false)).mibs);
    const fl = await run(e.data.flushWrites, true);
    postMessage({ ok: true, noFlushMiBs: noFlush, flushEachMiBs: fl.mibs, flushEach: fl.lat });
  } catch (err) {
    postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
  }
};
