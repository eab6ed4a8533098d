/**
 * The database's dedicated module worker: owns the engine of one database
 * (`DbHost`) and answers the page's client through Comlink. Started by `worker/page/client.ts`;
 * built to `dist/jazz-worker.js`.
 */
import * as Comlink from 'comlink';
import { DbHost } from './db-host.ts';
import { installWireErrors } from './wire-errors.ts';

installWireErrors();
// Comlink's answers and the worker's own messages to the page (`PageMessage`) share the channel.
Comlink.expose(new DbHost((m) => self.postMessage(m)));
