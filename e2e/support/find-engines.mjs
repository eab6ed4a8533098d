// Where Debian puts the browsers of the cross-engine tests, and what to install when one is
// missing. Plain JavaScript, so scripts/test.mjs (plain Node) and e2e/support/engines.ts share it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const INSTALL = {
  firefox: 'apt-get update && apt-get install -y firefox-esr   (or set FIREFOX_PATH)',
  webkit: 'apt-get update && apt-get install -y webkit2gtk-driver xvfb',
};

/** The Firefox binary: FIREFOX_PATH, else Debian's firefox-esr; undefined when it is not there. */
export function firefoxPath() {
  const p = process.env.FIREFOX_PATH || '/usr/lib/firefox-esr/firefox-esr';
  return existsSync(p) ? p : undefined;
}

/** WebKitGTK's MiniBrowser (Debian: /usr/lib/<arch>/webkit2gtk-4.1/MiniBrowser), or MINIBROWSER_PATH. */
export function miniBrowserPath() {
  if (process.env.MINIBROWSER_PATH) return existsSync(process.env.MINIBROWSER_PATH) ? process.env.MINIBROWSER_PATH : undefined;
  for (const lib of ['/usr/lib', '/usr/libexec']) {
    let dirs = [];
    try {
      dirs = readdirSync(lib);
    } catch {
      continue;
    }
    for (const d of ['', ...dirs]) {
      for (const api of ['webkit2gtk-4.1', 'webkit2gtk-4.0', 'webkitgtk-6.0']) {
        const p = join(lib, d, api, 'MiniBrowser');
        if (existsSync(p)) return p;
      }
    }
  }
  return undefined;
}

/** `name` on PATH, or undefined. */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** What is missing to run `engine` ('firefox' or 'webkit'), with how to install it; undefined when nothing is. */
export function missing(engine) {
  if (engine === 'firefox') return firefoxPath() ? undefined : `Firefox is not installed (looked for ${process.env.FIREFOX_PATH || '/usr/lib/firefox-esr/firefox-esr'}): ${INSTALL.firefox}`;
  const lacking = [!onPath('WebKitWebDriver') && 'WebKitWebDriver', !miniBrowserPath() && 'MiniBrowser', !onPath('Xvfb') && 'Xvfb'].filter(Boolean);
  return lacking.length ? `WebKitGTK cannot run here (${lacking.join(', ')} missing): ${INSTALL.webkit}` : undefined;
}
