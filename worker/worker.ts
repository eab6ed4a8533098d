/**
 * The database's dedicated module worker: owns the engine of one database
 * (`DbHost`) and answers the page's client through Comlink. Started by `worker/page/client.ts`;
 * built to `dist/jazz-worker.js`.
 */
import * as Comlink from 'comlink';
import { DbHost } from './db-host.ts';
import { installWireErrors } from './wire-errors.ts';

installWireErrors();
Comlink.expose(new DbHost());
