/**
 * The Node entry (`jazz-elements/server`): the engine with Node's storage and transport, and the
 * reference sync server.
 *
 *   const db = createDb({ app, driver: { type: 'file', path: './data/app.db' }, server: 'ws://localhost:4000', appId: 'demo' });
 */
import { createDb as createCoreDb, type CreateDbOptions, type Db } from '../src/db.ts';
import type { AppSchema } from '../src/schema/schema.ts';
import { JazzError } from '../src/util/errors.ts';
import { checkOptions } from '../src/util/options.ts';
import { openFileStore, type FileStoreOptions } from './fs-store.ts';
import { wsConnector } from './ws-connector.ts';

export * from '../src/index.ts';
export { startSyncServer, type SyncServer, type SyncServerOptions } from './sync-server.ts';
export { createLogger, type Logger, type LogLevel } from './log.ts';
export { BackupError, type BackupReport } from './backup.ts';
export { openFileStore, wsConnector };

export type NodeDriverConfig = { readonly type: 'memory' } | ({ readonly type: 'file'; readonly path: string } & FileStoreOptions);

export interface NodeCreateDbOptions<A extends { readonly $schema: AppSchema }> extends Omit<CreateDbOptions<A>, 'driver'> {
  readonly driver?: NodeDriverConfig;
}

/** Opens a database in Node: in memory, or durable in a file (`{ type: 'file', path }`). */
export function createDb<A extends { readonly $schema: AppSchema }>(opts: NodeCreateDbOptions<A>): Db<A> {
  const driver = opts.driver ?? { type: 'memory' };
  checkOptions('the driver', driver, driver.type === 'file' ? 'type path pageSize cacheBytes checkpointWalBytes' : 'type');
  let store = opts.store;
  if (!store && driver.type === 'file') {
    if (typeof driver.path !== 'string' || !driver.path) throw new JazzError('OPTION_INVALID', 'the file driver needs a path: { type: "file", path: "./data/app.db" }');
    const { type: _, path, ...fileOpts } = driver;
    store = openFileStore(path, fileOpts);
  } else if (!store && driver.type !== 'memory') {
    throw new JazzError('OPTION_INVALID', `unknown driver "${(driver as { type: string }).type}"; use memory or file`);
  }
  return createCoreDb({ ...opts, driver: { type: 'memory' }, ...(store ? { store } : {}), connect: opts.connect ?? wsConnector });
}
