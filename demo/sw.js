// The demo's service worker: keeps the app shell (the page, its script and style, the schema and
// jazz.js with its workers) so the app opens with the network off. The data is not here: it is in
// the browser's own database (OPFS), which the page opens as usual.
//
// Network first, the cache when the network fails (or takes more than 3 s): online, a reload always
// gets the current files; offline, the last ones. The sign-in and the sync socket are never cached.
const CACHE = 'jazz-demo-v2';
// jazz-more.js is the drop-in's lazy part the board uses (formatters, conditions, editing, <jazz-status>).
const SHELL = ['./', 'index.html', 'app.js', 'style.css', 'schema.json', 'manifest.webmanifest', 'icon.svg', 'jazz.js', 'jazz-more.js', 'jazz-worker.js', 'jazz-broker.js'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin || url.pathname.includes('/dev/') || url.pathname.includes('/apps/')) return;
  event.respondWith(networkFirst(req));
});

async function networkFirst(req) {
  const cache = await caches.open(CACHE);
  try {
    const res = await withTimeout(fetch(req), 3000);
    if (res.ok) await cache.put(req.mode === 'navigate' ? new URL('./', location.href).href : req, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(req.mode === 'navigate' ? './' : req, { ignoreSearch: true });
    if (hit) return hit;
    throw e;
  }
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('network timeout')), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
