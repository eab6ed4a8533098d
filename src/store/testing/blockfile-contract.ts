/**
 * The contract suite every `BlockFile` runs (memory, Node fs, OPFS later): exactly what the
 * interface comment in `../blockfile.ts` promises, nothing of an implementation's internals.
 *
 *   runBlockFileContract('memory', () => { const file = new MemoryBlockFile(); return { file, reopen: () => MemoryBlockFile.fromImage(file.crashImage()) }; });
 *
 * `open` returns a new empty file and `reopen`, which closes nothing itself but opens the same
 * storage again after the test closed the file (the persistence case).
 */
import { describe, expect, it } from 'vitest';
import type { BlockFile } from '../blockfile.ts';

export interface BlockFileUnderTest {
  file: BlockFile;
  reopen: () => BlockFile;
}

export function runBlockFileContract(name: string, open: () => BlockFileUnderTest): void {
  describe(`BlockFile contract: ${name}`, () => {
    it('starts empty', () => {
      const { file } = open();
      expect(file.size()).toBe(0);
      const into = new Uint8Array(8).fill(7);
      expect(file.read(0, into)).toBe(0);
      expect([...into]).toEqual([7, 7, 7, 7, 7, 7, 7, 7]);
      file.close();
    });

    it('reads back what it wrote, short at the end of the file', () => {
      const { file } = open();
      file.write(0, bytes(1, 2, 3, 4, 5));
      expect(file.size()).toBe(5);
      const into = new Uint8Array(8).fill(9);
      expect(file.read(2, into)).toBe(3);
      expect([...into]).toEqual([3, 4, 5, 9, 9, 9, 9, 9]);
      expect(file.read(5, into)).toBe(0);
      expect(file.read(100, into)).toBe(0);
      file.close();
    });

    it('extends with zeros when writing past the end, and overwrites in place', () => {
      const { file } = open();
      file.write(10, bytes(1, 2));
      expect(file.size()).toBe(12);
      const into = new Uint8Array(12);
      expect(file.read(0, into)).toBe(12);
      expect([...into]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
      file.write(9, bytes(7, 8));
      expect(file.size()).toBe(12);
      file.read(0, into);
      expect([...into.subarray(8)]).toEqual([0, 7, 8, 2]);
      file.close();
    });

    it('handles large writes at page offsets and subarrays', () => {
      const { file } = open();
      const big = new Uint8Array(3 * 16384 + 100);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      file.write(16384, big.subarray(100));
      const back = new Uint8Array(big.length - 100);
      expect(file.read(16384, back)).toBe(back.length);
      expect(back).toEqual(big.subarray(100));
      expect(file.size()).toBe(16384 + back.length);
      file.close();
    });

    it('truncates down and up', () => {
      const { file } = open();
      file.write(0, bytes(1, 2, 3, 4, 5, 6));
      file.truncate(3);
      expect(file.size()).toBe(3);
      file.truncate(6);
      expect(file.size()).toBe(6);
      const into = new Uint8Array(6);
      file.read(0, into);
      expect([...into]).toEqual([1, 2, 3, 0, 0, 0]);
      file.truncate(0);
      expect(file.size()).toBe(0);
      file.flush();
      file.close();
    });

    it('refuses use after close', () => {
      const { file } = open();
      file.write(0, bytes(1));
      file.close();
      expect(() => file.write(0, bytes(1))).toThrow();
      expect(() => file.read(0, new Uint8Array(1))).toThrow();
    });

    it('keeps flushed writes across a reopen', () => {
      const { file, reopen } = open();
      file.write(0, bytes(4, 5, 6));
      file.write(16384, bytes(9));
      file.flush();
      file.close();
      const again = reopen();
      expect(again.size()).toBe(16385);
      const into = new Uint8Array(3);
      again.read(0, into);
      expect([...into]).toEqual([4, 5, 6]);
      again.close();
    });
  });
}

function bytes(...b: number[]): Uint8Array {
  return new Uint8Array(b);
}
