#!/usr/bin/env node
// `npm run example -- todomvc`: serves examples/<name>/ with the drop-in files of dist/ beside it
// (run `npm run build` first; the npm script does), at http://localhost:4001/ (EXAMPLE_PORT).
// A static site does the same by copying the example's files and dist/'s jazz*.js into one folder.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve } from 'node:path';

const name = process.argv[2] ?? 'todomvc';
const dir = resolve('examples', name);
const dist = resolve('dist');
const port = Number(process.env.EXAMPLE_PORT ?? 4001);
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.json': 'application/json' };

createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1) || 'index.html';
  // The drop-in files from dist/; a framework's browser build from node_modules (the Vue example).
  const vendor = resolve('node_modules/vue/dist');
  const file = /^jazz[\w-]*\.js(\.map)?$/.test(path) ? join(dist, path) : path === 'vue.esm-browser.prod.js' ? join(vendor, path) : join(dir, path);
  if (!file.startsWith(dir) && !file.startsWith(dist) && !file.startsWith(vendor)) return void res.writeHead(403).end();
  try {
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(readFileSync(file));
  } catch {
    res.writeHead(404).end();
  }
}).listen(port, '127.0.0.1', () => console.log(`examples/${name} at http://localhost:${port}/`));
