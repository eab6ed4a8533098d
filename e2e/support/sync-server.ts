/**
 * The reference sync server (server/sync-server.ts) inside a spec's Node process, for pages that
 * sync with it: on a free port of 127.0.0.1, in development mode (anonymous clients, the first
 * client's schema adopted) unless `dev: false`, in memory or on files in a fresh folder under
 * `.tmp/`. `publish` gives an app its schema and permissions up front, as an operator would. `stop` and
 * `start` take it down and bring it back on the same port and the same folder, so clients
 * reconnect to the same address and find what the server had; `dispose` stops it and deletes the
 * folder. The server's log is kept in `log` (printed by the spec when it helps).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Engine } from '../../src/engine/engine.ts';
import type { Permissions } from '../../src/policy/define.ts';
import type { AppSchema } from '../../src/schema/schema.ts';
import { startSyncServer, type SyncServer } from '../../server/sync-server.ts';
import { failValuesContaining } from '../../server/testing/failing-store.ts';

export interface TestSyncServerOptions {
  /** Keep the apps' databases in files (a folder under `.tmp/`) so a restart finds them. Default: in memory. */
  readonly persistent?: boolean;
  /** Development mode (default true): anonymous clients, and an unknown app adopts its first client's schema. */
  readonly dev?: boolean;
}

export class TestSyncServer {
  readonly log: string[] = [];
  readonly dataDir: string | undefined;
  #port = 0;
  #server: SyncServer | undefined;
  readonly #dev: boolean;

  private constructor(opts: TestSyncServerOptions) {
    this.#dev = opts.dev ?? true;
    if (opts.persistent) {
      const tmp = resolve('.tmp');
      mkdirSync(tmp, { recursive: true });
      this.dataDir = mkdtempSync(join(tmp, 'e2e-sync-server-'));
    }
  }

  /** Starts a server on a free port. */
  static async start(opts: TestSyncServerOptions = {}): Promise<TestSyncServer> {
    const s = new TestSyncServer(opts);
    await s.start();
    return s;
  }

  get port(): number {
    return this.#port;
  }

  /** The address clients pass as `server` (stays the same across restarts). */
  get url(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** (Re)starts the server: the first time on a free port, then on the same port and folder. */
  async start(): Promise<void> {
    if (this.#server) return;
    this.#server = await startSyncServer({
      port: this.#port,
      host: '127.0.0.1',
      dev: this.#dev,
      ...(this.dataDir ? { dataDir: this.dataDir } : { inMemory: true }),
      log: (line) => this.log.push(line),
    });
    this.#port = this.#server.port;
  }

  /** Closes every connection (1001), flushes and closes the databases, stops listening. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.close();
  }

  /** The app's engine on the running server (undefined before a client brought its schema). */
  engineOf(appId: string): Engine | undefined {
    return this.#server?.engineOf(appId);
  }

  /** Publishes an app's schema (and permissions) on the running server, as its admin route does. */
  publish(appId: string, schema: AppSchema, permissions?: Permissions): void {
    this.#server!.publish(appId, schema, permissions);
  }

  /** Makes the app's store fail every commit that holds a value containing `marker` (server/testing/failing-store.ts). */
  failValuesContaining(appId: string, marker: string): void {
    failValuesContaining(this.engineOf(appId)!.store, marker);
  }

  /** Client connections open now. */
  connections(): number {
    return this.#server?.stats().connections ?? 0;
  }

  /** Stops the server and deletes its folder. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
