import { describe, expect, it } from 'vitest';
import { Faults, MemoryBlockFile } from './blockfile.ts';
import { runBlockFileContract } from './testing/blockfile-contract.ts';

runBlockFileContract('memory', () => {
  const file = new MemoryBlockFile();
  return { file, reopen: () => MemoryBlockFile.fromImage(file.crashImage()) };
});

runBlockFileContract('memory with inactive faults', () => {
  const file = new MemoryBlockFile(new Faults({ seed: 3 }));
  return { file, reopen: () => MemoryBlockFile.fromImage(file.crashImage()) };
});

function page(fill: number, n = 4096): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

describe('MemoryBlockFile faults', () => {
  it('crashes at the N-th write across files and refuses everything after', () => {
    const faults = new Faults({ crashAtWrite: 3 });
    const a = new MemoryBlockFile(faults);
    const b = new MemoryBlockFile(faults);
    a.write(0, page(1));
    b.write(0, page(2));
    expect(() => a.write(4096, page(3))).toThrow(expect.objectContaining({ code: 'STORAGE_IO' }));
    expect(faults.crashed).toBe(true);
    expect(() => b.read(0, new Uint8Array(1))).toThrow();
    expect(() => b.flush()).toThrow();
  });

  it('keeps flushed writes and drops unflushed ones with fate drop', () => {
    const faults = new Faults({ crashAtWrite: 3, unflushed: 'drop' });
    const f = new MemoryBlockFile(faults);
    f.write(0, page(1));
    f.flush();
    f.write(4096, page(2));
    expect(() => f.write(8192, page(3))).toThrow();
    const image = f.crashImage();
    expect(image.length).toBe(4096);
    expect(image.every((x) => x === 1)).toBe(true);
  });

  it('keeps unflushed writes whole with fate keep, tearing the crashing one at sector granularity', () => {
    for (const sectorSize of [512, 4096]) {
      for (let seed = 1; seed < 20; seed++) {
        const faults = new Faults({ crashAtWrite: 2, unflushed: 'keep', sectorSize, seed });
        const f = new MemoryBlockFile(faults);
        f.write(0, page(1, 8192));
        expect(() => f.write(0, page(2, 8192))).toThrow();
        const image = f.crashImage();
        expect(image.length).toBe(8192);
        for (let s = 0; s < 8192; s += sectorSize) {
          const sector = image.subarray(s, s + sectorSize);
          expect(sector.every((x) => x === sector[0])).toBe(true); // whole sectors, old or new
        }
      }
    }
  });

  it('tears and reorders unflushed writes deterministically for a seed', () => {
    const run = (seed: number) => {
      const faults = new Faults({ crashAtWrite: 6, unflushed: 'reorder', seed });
      const f = new MemoryBlockFile(faults);
      for (let i = 0; i < 5; i++) f.write(i * 1024, page(i + 1, 1024));
      expect(() => f.write(0, page(9, 1024))).toThrow();
      return f.crashImage();
    };
    expect(run(5)).toEqual(run(5));
    const variants = new Set<string>();
    for (let seed = 0; seed < 30; seed++) variants.add(Array.from(run(seed)).join(','));
    expect(variants.size).toBeGreaterThan(5);
  });

  it('never damages bytes outside a torn write', () => {
    const faults = new Faults({ crashAtWrite: 2, unflushed: 'torn', sectorSize: 4096, seed: 9 });
    const f = new MemoryBlockFile(faults);
    f.write(0, page(1, 8192));
    f.flush();
    expect(() => f.write(100, page(2, 50))).toThrow();
    const image = f.crashImage();
    expect(image.subarray(0, 100).every((x) => x === 1)).toBe(true);
    expect(image.subarray(150).every((x) => x === 1)).toBe(true);
  });

  it('fails every N-th operation with STORAGE_IO', () => {
    const faults = new Faults({ ioErrorEvery: 3 });
    const f = new MemoryBlockFile(faults);
    f.write(0, page(1));
    f.flush();
    expect(() => f.read(0, new Uint8Array(4))).toThrow(expect.objectContaining({ code: 'STORAGE_IO' }));
    f.write(0, page(2));
    f.flush();
    expect(() => f.write(0, page(3))).toThrow(expect.objectContaining({ code: 'STORAGE_IO' }));
  });

  it('enforces a quota by refusing or by a short write', () => {
    const refuse = new MemoryBlockFile(new Faults({ quotaBytes: 6000, quotaMode: 'throw' }));
    refuse.write(0, page(1));
    expect(() => refuse.write(4096, page(2))).toThrow(expect.objectContaining({ code: 'STORAGE_QUOTA' }));
    expect(refuse.size()).toBe(4096);
    refuse.write(0, page(3)); // rewriting within the file is fine
    const short = new MemoryBlockFile(new Faults({ quotaBytes: 6000, quotaMode: 'short' }));
    short.write(0, page(1));
    expect(() => short.write(4096, page(2))).toThrow(expect.objectContaining({ code: 'STORAGE_QUOTA' }));
    expect(short.size()).toBe(6000);
  });
});
