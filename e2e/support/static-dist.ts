/**
 * `npm run build` into a fresh folder under .tmp/ (JAZZ_DIST), and that folder served as a plain
 * static site would serve it: node:http, no Vite, no transform. Used by the specs that check the
 * drop-in files the way a page without a bundler loads them.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/**
 * `npm run build`'s files in a new folder `.tmp/<prefix>…` (its path), the spec's own to add to
 * and delete. The suite builds once: the first spec of a run (`JAZZ_E2E_RUN`, set by
 * playwright.config.ts) builds into `.tmp/e2e-build-<run>/` while the others wait for it, and
 * each gets a copy (the runner deletes the build when it ends).
 */
export function buildDist(prefix: string): string {
  const dir = mkdtempSync(join(resolve('.tmp'), prefix));
  const run = process.env['JAZZ_E2E_RUN'];
  if (!run) {
    execFileSync('npm', ['run', 'build'], { env: { ...process.env, JAZZ_DIST: dir }, stdio: 'pipe' });
    return dir;
  }
  const shared = sharedBuildDir(run);
  const done = join(shared, '.built');
  const failed = `${shared}.failed`;
  try {
    mkdirSync(shared);
  } catch {
    // Another spec is building it: wait (synchronously, as this is) for it to say it is done.
    const sleep = new Int32Array(new SharedArrayBuffer(4));
    for (const deadline = Date.now() + 180_000; !existsSync(done); Atomics.wait(sleep, 0, 0, 100)) {
      if (existsSync(failed)) throw new Error(`npm run build failed in another spec: ${readFileSync(failed, 'utf8')}`);
      if (Date.now() > deadline) throw new Error(`npm run build into ${shared}: not done within 180 s`);
    }
    cpSync(shared, dir, { recursive: true, filter: (f) => f !== done });
    return dir;
  }
  try {
    execFileSync('npm', ['run', 'build'], { env: { ...process.env, JAZZ_DIST: shared }, stdio: 'pipe' });
  } catch (e) {
    writeFileSync(failed, String(e));
    throw e;
  }
  writeFileSync(done, '');
  cpSync(shared, dir, { recursive: true, filter: (f) => f !== done });
  return dir;
}

/** Where a run of the suite keeps its one build. */
export function sharedBuildDir(run: string): string {
  return join(resolve('.tmp'), `e2e-build-${run}`);
}

export interface StaticDist {
  readonly dir: string;
  readonly origin: string;
  /** Every path requested, in order. */
  readonly served: string[];
  /** `jazz.js: 74540 B, 24654 B gzipped; …` for the named files. */
  sizes(files: readonly string[]): string;
  /** A file's size gzipped (level 9), in bytes. */
  gzipped(file: string): number;
  /** The script files the build made (`jazz.js`, its lazy parts, the workers), sorted. */
  readonly scripts: readonly string[];
  close(): Promise<void>;
}

/** Builds, adds `pages` (file path → HTML; `index.html` answers `/`), and serves the folder on 127.0.0.1. */
export async function serveDist(prefix: string, pages: Readonly<Record<string, string>>): Promise<StaticDist> {
  const dir = buildDist(prefix);
  for (const [name, html] of Object.entries(pages)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), html);
  }
  const gzipped = (f: string): number => gzipSync(readFileSync(join(dir, f)), { level: 9 }).length;
  // Served with CORS allowed, as a CDN serves it, so a page of another origin can load it too.
  const { origin, served, close } = await serveFolder(dir, { 'access-control-allow-origin': '*' });
  return {
    dir,
    origin,
    served,
    sizes: (files) => files.map((f) => `${f}: ${readFileSync(join(dir, f)).length} B, ${gzipped(f)} B gzipped`).join('; '),
    gzipped: (f) => gzipped(f),
    scripts: readdirSync(dir)
      .filter((f) => /^jazz[\w-]*\.js$/.test(f))
      .sort(),
    close: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A folder served as a plain static site serves it, on 127.0.0.1 (`/` is `index.html`), with `headers` on every answer; every path requested is in `served`. */
export async function serveFolder(dir: string, headers: Readonly<Record<string, string>> = {}): Promise<{ origin: string; served: string[]; close: () => Promise<void> }> {
  const served: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    served.push(path);
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir)) return void res.writeHead(403).end();
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      return void res.writeHead(404).end();
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return {
    origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    served,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
