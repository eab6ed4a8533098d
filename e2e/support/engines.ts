/**
 * Firefox and WebKit for the cross-engine specs (`e2e/engines/`), beside Playwright's Chromium.
 * Playwright drives only its own patched builds of those engines, which cannot be downloaded on
 * this project's machines, so the specs drive Debian's stock browsers over their own protocols:
 *
 * - **Firefox ESR** (`apt-get install firefox-esr`; `FIREFOX_PATH` for another binary) through
 *   puppeteer-core over WebDriver BiDi, with the binary as `executablePath` (no download). One
 *   Firefox per test worker is shared by the tests: each device is a user context of its own
 *   (its own storage, locks and workers). `launchFirefox({ profile })` starts one on a profile
 *   folder for the restart and crash tests.
 * - **WebKitGTK** (`apt-get install webkit2gtk-driver xvfb`): `WebKitWebDriver` starts
 *   `MiniBrowser --automation` over W3C WebDriver, in an Xvfb display this process starts. A
 *   driver serves one session, so each device is a driver of its own, on a free port. Under
 *   `--automation` MiniBrowser keeps nothing between sessions; `launchMiniBrowser` runs it
 *   without WebDriver on a profile folder (`XDG_DATA_HOME`) for the restart test: there the page
 *   runs its scenario by itself and posts what it found to a loopback server of the spec's
 *   (`reportServer`).
 *
 * A missing browser fails the test with what to install; it never skips. Both kinds of page
 * offer the same small interface (`EnginePage`): evaluate a function in the page (awaited), poll
 * one, click, type and press keys as a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL, firefoxPath, miniBrowserPath, missing } from './find-engines.mjs';
import puppeteer, { type Browser as PptrBrowser, type BrowserContext as PptrContext, type Page as PptrPage } from 'puppeteer-core';

export type EngineName = 'firefox' | 'webkit';

export interface EnginePage {
  readonly engine: EngineName;
  /** Loads `path` (resolved against the base URL) and waits for its load event. */
  goto(path: string): Promise<void>;
  /** Runs `fn(arg)` in the page and resolves with its (awaited) result, as JSON. */
  evaluate<R, A = null>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>>;
  /** Polls `fn(arg)` in the page until it is truthy; fails with `what` after `timeoutMs`. */
  waitFor<A>(fn: (arg: A) => unknown, arg: A, what: string, timeoutMs?: number): Promise<void>;
  click(selector: string): Promise<void>;
  /** Types `text` into the element (focusing it first), key by key. */
  type(selector: string, text: string): Promise<void>;
  /** Empties the text field, then types `text` into it. */
  fill(selector: string, text: string): Promise<void>;
  /** Presses a key in the element. */
  press(selector: string, key: 'Enter' | 'Tab'): Promise<void>;
  /** Types `text` into whatever has focus, at its caret, key by key. */
  keys(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A storage partition: its pages share storage, Web Locks and workers, and nothing else. */
export interface EngineDevice {
  newPage(): Promise<EnginePage>;
  close(): Promise<void>;
}

// ─── finding the browsers (find-engines.mjs) ─────────────────────────────────

function required(engine: EngineName): void {
  const why = missing(engine);
  if (why) throw new Error(why);
}

// ─── Firefox ─────────────────────────────────────────────────────────────────

/** Quiet, self-contained, and answering `navigator.storage.persist()` without a prompt. */
const FIREFOX_PREFS: Record<string, unknown> = {
  'dom.storageManager.prompt.testing': true,
  'dom.storageManager.prompt.testing.allow': true,
  'browser.sessionstore.resume_from_crash': false,
  'browser.startup.page': 0,
  'toolkit.startup.max_resumed_crashes': -1,
  'datareporting.policy.dataSubmissionEnabled': false,
  'app.update.enabled': false,
};

/** Starts Firefox (headless): on `profile` when given (kept), else on a throwaway one. */
export async function launchFirefox(opts: { profile?: string } = {}): Promise<PptrBrowser> {
  required('firefox');
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath()!,
    headless: true,
    ...(opts.profile ? { userDataDir: opts.profile } : {}),
    extraPrefsFirefox: FIREFOX_PREFS,
    protocolTimeout: 120_000,
  });
}

/**
 * What puppeteer adds to a profile that a Firefox started without it needs too: no first-run
 * pages, default-browser check, crash-restore page or safe-mode offer after a crash (the crash
 * test kills it ten times), and nothing fetched from Mozilla's servers while it starts.
 */
const FIREFOX_STANDALONE_PREFS: Record<string, unknown> = {
  ...FIREFOX_PREFS,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'startup.homepage_welcome_url': 'about:blank',
  'startup.homepage_welcome_url.additional': '',
  'browser.aboutwelcome.enabled': false,
  'browser.tabs.warnOnClose': false,
  'datareporting.policy.dataSubmissionPolicyBypassNotification': true,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.disabledForTesting': true,
  'app.normandy.enabled': false,
  'app.normandy.api_url': '',
  'services.settings.server': 'data:,#remote-settings-dummy/v1',
  'messaging-system.rsexperimentloader.enabled': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.search.update': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'dom.ipc.reportProcessHangs': false,
  'hangmonitor.timeout': 0,
};

/**
 * Firefox (headless) without WebDriver, on a profile folder, showing `url`; `kill` ends it (as a
 * crash would with SIGKILL). Much of a launch through puppeteer is the WebDriver BiDi session
 * waiting for Firefox's startup idle tasks; a page that runs its steps by itself and reports them
 * (`reportServer`) needs none of it. The profile's `user.js` gets the prefs above.
 */
export async function launchFirefoxAt(profile: string, url: string): Promise<Standalone> {
  required('firefox');
  writeFileSync(
    join(profile, 'user.js'),
    Object.entries(FIREFOX_STANDALONE_PREFS)
      .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`)
      .join(''),
  );
  const p = spawn(firefoxPath()!, ['--headless', '--no-remote', '--profile', profile, url], { stdio: 'ignore' });
  return standalone(p);
}

class FirefoxPage implements EnginePage {
  readonly engine = 'firefox' as const;
  constructor(
    readonly page: PptrPage,
    readonly baseURL: string,
  ) {}

  async goto(path: string): Promise<void> {
    await this.page.goto(new URL(path, this.baseURL).href);
  }

  evaluate<R, A = null>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>> {
    return this.page.evaluate(fn as never, (arg ?? null) as never) as Promise<Awaited<R>>;
  }

  waitFor<A>(fn: (arg: A) => unknown, arg: A, what: string, timeoutMs?: number): Promise<void> {
    return poll(this, fn, arg, what, timeoutMs);
  }

  async click(selector: string): Promise<void> {
    await this.page.click(selector);
  }

  async type(selector: string, text: string): Promise<void> {
    await this.page.focus(selector);
    await this.page.keyboard.type(text);
  }

  async press(selector: string, key: 'Enter' | 'Tab'): Promise<void> {
    await this.page.focus(selector);
    await this.page.keyboard.press(key);
  }

  async keys(text: string): Promise<void> {
    await this.page.keyboard.type(text);
  }

  async fill(selector: string, text: string): Promise<void> {
    await this.page.locator(selector).fill(text);
  }

  async close(): Promise<void> {
    await this.page.close().catch(() => {});
  }
}

/** A device on a running Firefox: a new user context, or the profile's own one (`ownContext`). */
export function firefoxDevice(browser: PptrBrowser, baseURL: string, ownContext = false): EngineDevice & { context: Promise<PptrContext> } {
  const context = ownContext ? Promise.resolve(browser.defaultBrowserContext()) : browser.createBrowserContext();
  return {
    context,
    newPage: async () => new FirefoxPage(await (await context).newPage(), baseURL),
    close: async () => {
      if (!ownContext) await (await context).close().catch(() => {});
    },
  };
}

// ─── WebKitGTK ────────────────────────────────────────────────────────────────

let xvfb: Promise<string> | undefined;

/** This process's Xvfb display (started once, ended with the process). */
export function xDisplay(): Promise<string> {
  xvfb ??= new Promise<string>((resolve, reject) => {
    const p = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += String(d)));
    (p.stdio[3] as NodeJS.ReadableStream).once('data', (d: Buffer) => resolve(`:${String(d).trim()}`));
    p.once('error', (e) => reject(new Error(`Xvfb did not start (${e.message}): ${INSTALL.webkit}`)));
    p.once('exit', (code) => reject(new Error(`Xvfb ended (${code}): ${err.slice(-500)}`)));
    process.once('exit', () => p.kill());
    // Never what keeps this process alive (a bench run ends when its work does).
    p.unref();
    for (const s of [p.stderr, p.stdio[3]]) (s as unknown as { unref?: () => void }).unref?.();
  });
  return xvfb;
}

/** The environment WebKitGTK runs in here: the Xvfb display, no accessibility bus, no GPU. */
async function webkitEnv(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  return { ...process.env, DISPLAY: await xDisplay(), NO_AT_BRIDGE: '1', LIBGL_ALWAYS_SOFTWARE: '1', ...extra };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const KEYS = { Enter: '\uE007', Tab: '\uE004' } as const;

/** One W3C WebDriver session of MiniBrowser, through a WebKitWebDriver of its own. */
class WebKitSession {
  #current: string | undefined;
  readonly #first: string;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly driver: ChildProcess,
    readonly url: string,
    readonly id: string,
    first: string,
  ) {
    this.#current = first;
    this.#first = first;
  }

  static async start(): Promise<WebKitSession> {
    required('webkit');
    const port = await freePort();
    const driver = spawn('WebKitWebDriver', [`--port=${port}`], { env: await webkitEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    driver.stderr!.on('data', (d: Buffer) => (log = (log + String(d)).slice(-2000)));
    const url = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; ; i++) {
        try {
          if ((await fetch(`${url}/status`)).ok) break;
        } catch {
          if (i > 100) throw new Error(`WebKitWebDriver did not start: ${log}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const caps = { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: miniBrowserPath(), args: ['--automation'] } } } };
      const s = (await wd(url, 'POST', '/session', caps)) as { sessionId: string };
      await wd(url, 'POST', `/session/${s.sessionId}/timeouts`, { script: 120_000, pageLoad: 60_000 });
      const first = (await wd(url, 'GET', `/session/${s.sessionId}/window`)) as string;
      return new WebKitSession(driver, url, s.sessionId, first);
    } catch (e) {
      driver.kill();
      throw e;
    }
  }

  /** Runs `path` on window `handle` (switching to it first), one command at a time. */
  on(handle: string, method: string, path: string, body?: unknown): Promise<unknown> {
    const run = async (): Promise<unknown> => {
      if (this.#current !== handle) {
        await wd(this.url, 'POST', `/session/${this.id}/window`, { handle });
        this.#current = handle;
      }
      const value = await wd(this.url, method, `/session/${this.id}${path}`, body);
      if (method === 'DELETE' && path === '/window') this.#current = undefined; // closed: none is current
      return value;
    };
    const r = this.#queue.then(run, run);
    this.#queue = r.catch(() => {});
    return r;
  }

  /** A new window, opened from the session's first (blank) one, which is never closed. */
  async newWindow(): Promise<string> {
    const w = (await this.on(this.#first, 'POST', '/window/new', { type: 'tab' })) as { handle: string };
    return w.handle;
  }

  async close(): Promise<void> {
    await wd(this.url, 'DELETE', `/session/${this.id}`).catch(() => {});
    this.driver.kill();
  }
}

async function wd(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const j = (await r.json()) as { value: any };
  if (!r.ok) throw new Error(`WebDriver ${method} ${path.replace(/^\/session\/[^/]+/, '')}: ${j.value?.error}: ${j.value?.message}`);
  return j.value;
}

class WebKitPage implements EnginePage {
  readonly engine = 'webkit' as const;
  constructor(
    readonly session: WebKitSession,
    readonly handle: string,
    readonly baseURL: string,
  ) {}

  async goto(path: string): Promise<void> {
    await this.session.on(this.handle, 'POST', '/url', { url: new URL(path, this.baseURL).href });
  }

  async evaluate<R, A = null>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>> {
    const script = `return (${fn.toString()}).call(null, arguments[0]);`;
    return (await this.session.on(this.handle, 'POST', '/execute/sync', { script, args: [arg ?? null] })) as Awaited<R>;
  }

  waitFor<A>(fn: (arg: A) => unknown, arg: A, what: string, timeoutMs?: number): Promise<void> {
    return poll(this, fn, arg, what, timeoutMs);
  }

  async #element(selector: string): Promise<string> {
    const el = (await this.session.on(this.handle, 'POST', '/element', { using: 'css selector', value: selector })) as Record<string, string>;
    return el[ELEMENT]!;
  }

  async click(selector: string): Promise<void> {
    const el = await this.#element(selector);
    // WebKitWebDriver clicks where an element below the fold was, not where it scrolled to.
    await this.session.on(this.handle, 'POST', '/execute/sync', { script: 'arguments[0].scrollIntoView({ block: "center" })', args: [{ [ELEMENT]: el }] });
    await this.session.on(this.handle, 'POST', `/element/${el}/click`, {});
  }

  async type(selector: string, text: string): Promise<void> {
    await this.session.on(this.handle, 'POST', `/element/${await this.#element(selector)}/value`, { text });
  }

  async press(selector: string, key: 'Enter' | 'Tab'): Promise<void> {
    await this.type(selector, KEYS[key]);
  }

  async fill(selector: string, text: string): Promise<void> {
    await this.session.on(this.handle, 'POST', `/element/${await this.#element(selector)}/clear`, {});
    await this.type(selector, text);
  }

  async keys(text: string): Promise<void> {
    const actions = [...text].flatMap((value) => [
      { type: 'keyDown', value },
      { type: 'keyUp', value },
    ]);
    await this.session.on(this.handle, 'POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] });
  }

  async close(): Promise<void> {
    await this.session.on(this.handle, 'DELETE', '/window').catch(() => {});
  }
}

/** A device in WebKitGTK: a MiniBrowser of its own (ephemeral storage), through its own driver. */
export async function webkitDevice(baseURL: string): Promise<EngineDevice> {
  const session = await WebKitSession.start();
  return {
    // Every page is a new window: the session's first one stays blank, so any page can close.
    newPage: async () => new WebKitPage(session, await session.newWindow(), baseURL),
    close: () => session.close(),
  };
}

/**
 * MiniBrowser without WebDriver, on a profile folder (its data under `<profile>/data`, as
 * `XDG_DATA_HOME`), showing `url`. `kill` ends it as a crash would (it has no other way to quit
 * from outside). The page reports back on its own, e.g. to `reportServer`.
 */
export async function launchMiniBrowser(profile: string, url: string): Promise<Standalone> {
  required('webkit');
  const env = await webkitEnv({ XDG_DATA_HOME: join(profile, 'data'), XDG_CACHE_HOME: join(profile, 'cache'), XDG_CONFIG_HOME: join(profile, 'config') });
  const p = spawn(miniBrowserPath()!, [url], { env, stdio: 'ignore' });
  return standalone(p);
}

/** A loopback HTTP server that keeps the body of every POST it gets (pages report results to it). */
export async function reportServer(): Promise<{ url: string; next(timeoutMs: number, what: string): Promise<string>; take(): string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += String(d)));
    req.on('end', () => {
      if (req.method === 'POST') bodies.push(body);
      res.writeHead(204, { 'access-control-allow-origin': '*' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    next: async (timeoutMs, what) => {
      const deadline = Date.now() + timeoutMs;
      while (bodies.length === 0) {
        if (Date.now() > deadline) throw new Error(`${what}: no report within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return bodies.shift()!;
    },
    /** Every body not taken yet, at once. */
    take: () => bodies.splice(0),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

// ─── shared ──────────────────────────────────────────────────────────────────

/** A browser started without a driver; `kill` ends it (SIGKILL unless told) and waits for its exit. */
export interface Standalone {
  readonly process: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function standalone(p: ChildProcess): Standalone {
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  return {
    process: p,
    kill: async (signal = 'SIGKILL') => {
      if (p.exitCode === null && p.signalCode === null) p.kill(signal);
      await exited;
    },
  };
}

async function poll<A>(page: EnginePage, fn: (arg: A) => unknown, arg: A, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > deadline) throw new Error(`${page.engine}: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
