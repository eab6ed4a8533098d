/**
 * Which Chromium the browser tests drive, and how. Browsers cannot be downloaded on the machines
 * this project runs on, so the tests use the distribution's Chromium (`apt-get install chromium`):
 * `CHROMIUM_PATH`, else `/usr/lib/chromium/chromium` (the binary itself: the `/usr/bin/chromium`
 * wrapper adds flags of its own), else Playwright's own download when there is one.
 */
import { existsSync } from 'node:fs';

const DEBIAN_CHROMIUM = '/usr/lib/chromium/chromium';

/** The Chromium binary to launch, or undefined for Playwright's default. */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env['CHROMIUM_PATH'];
  if (fromEnv) return fromEnv;
  return existsSync(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : undefined;
}

/** Flags that keep a headless Chromium quiet and self-contained (no network chatter, no GPU). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launch options for `chromium.launch` / `launchPersistentContext`. */
export function launchOptions(): { executablePath?: string; args: string[] } {
  const executablePath = chromiumPath();
  return { ...(executablePath ? { executablePath } : {}), args: [...CHROMIUM_ARGS] };
}
