import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBlockFileContract } from '../src/store/testing/blockfile-contract.ts';
import { FsBlockFile } from './fs-blockfile.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-fs-blockfile-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
runBlockFileContract('node fs', () => {
  const file = path.join(root, `f${n++}`);
  return { file: new FsBlockFile(file), reopen: () => new FsBlockFile(file) };
});

describe('FsBlockFile', () => {
  it('locks exclusively when asked', () => {
    const file = path.join(root, 'locked');
    const a = new FsBlockFile(file, { lock: true });
    expect(() => new FsBlockFile(file, { lock: true })).toThrow(expect.objectContaining({ code: 'STORAGE_LOCKED' }));
    a.close();
    new FsBlockFile(file, { lock: true }).close();
  });

  it('reports a missing file when asked not to create it', () => {
    expect(() => new FsBlockFile(path.join(root, 'missing'), { create: false })).toThrow(expect.objectContaining({ code: 'STORAGE_IO' }));
  });
});
