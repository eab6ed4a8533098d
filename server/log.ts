/**
 * What the sync server tells its operator while it runs: one structured record per event, through
 * pino, with levels; repeats of the same trouble rate-limited.
 *
 * The contract:
 * - The server logs through a `Logger`: `debug`, `info`, `warn`, `error`, each `(fields, message)`.
 *   A pino logger is one; so is anything with those four methods. Fields are plain JSON values, an
 *   error goes in `err` (pino's serializer keeps its type, message and stack).
 * - `createLogger` makes the default one: pino writing JSON lines to stdout (`format: 'json'`), or
 *   one short human line per record (`format: 'pretty'`: `12:04:05.123 WARN  batch refused app=…`),
 *   which the CLI picks when stdout is a terminal. The pretty form is the few lines of
 *   `formatRecord` below, not pino-pretty: one more dependency (with its own dependencies) for
 *   colours and options a server log does not need. Pipe the JSON into `npx pino-pretty` if you
 *   want those.
 * - `lineLogger(fn)` is the older `log: (line) => void` option kept as an adapter: each record
 *   arrives as one pretty line (`ERROR`, `WARN`, ... after the time), so tests can collect them.
 * - `serverLog(logger)` is what the server calls. Each event is one record with an `event` field:
 *     `connection-opened`  info  app, client, user, role, remote        (after a successful hello)
 *     `connection-closed`  info  app, client, user, code, cause, seconds (cause: the error code the
 *                               server sent before closing, e.g. PROTOCOL, TOKEN_EXPIRED)
 *     `sign-in-failed`     warn  app, client, code, reason, remote      (reason never holds a token)
 *     `batch-rejected`     warn  app, client, user, batchId, code, reason
 *                               (info for TRANSACTION_CONFLICT: optimistic transactions lose races
 *                               by design)
 *     `message-failed`     error app, client, type, err                 (a message the server could
 *                               not handle: a bug, never the client's fault)
 *     `storage-failed`     error app, batchId, err
 *     `admin-refused`      warn  app, route, remote                     (no or wrong admin secret)
 *     `schema-published`, `permissions-published`: info, app, schemaHash (through the admin routes)
 *     `schema-adopted`, `permissions-not-applied`: info and warn, once per app
 *     `upgrade-refused`    debug app, status, origin                   (unknown app, origin not allowed)
 * - Repeats are rate-limited by key (`RepeatLimiter`). Failures: `message-failed` by message type
 *   and error code, `storage-failed` by app and error code, at most one record per key a minute,
 *   so a failure that every retry hits logs its stack once, not once per retry. Refusals: sign-in
 *   failures by app and code, refused batches by app, client and code, refused admin requests by
 *   app, at most 20 records per key a minute. What a limit holds back is not lost from sight: when
 *   the key's minute ends, one record with `repeats: N` says how many were not logged one by one
 *   (without a stack).
 */
import { pino } from 'pino';

export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';
type Level = Exclude<LogLevel, 'silent'>;

export interface LoggerOptions {
  /** Records below this level are not written (default `info`). */
  readonly level?: LogLevel;
  /** JSON lines (default) or one short human line per record. */
  readonly format?: LogFormat;
  /** Where the text goes (default: stdout, written synchronously so nothing is lost at exit). */
  readonly write?: (text: string) => void;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'json';
  const write = opts.write;
  const destination =
    format === 'pretty'
      ? { write: (line: string) => (write ?? ((s: string) => process.stdout.write(s)))(formatRecord(JSON.parse(line) as Record<string, unknown>) + '\n') }
      : write
        ? { write }
        : pino.destination({ dest: 1, sync: true });
  return pino({ level: opts.level ?? 'info', timestamp: pino.stdTimeFunctions.isoTime, base: { pid: process.pid } }, destination);
}

/** The `log: (line) => void` option: each record as one pretty line, without its newline. */
export function lineLogger(log: (line: string) => void, level: LogLevel = 'info'): Logger {
  return createLogger({ level, format: 'pretty', write: (text) => log(text.replace(/\n$/, '')) });
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);

/** One pino record as a human line: time, level, message, then `key=value` pairs; a stack below. */
export function formatRecord(rec: Record<string, unknown>): string {
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : new Date().toISOString().slice(11, 23);
  const level = (LEVEL_NAMES[rec.level as number] ?? String(rec.level)).padEnd(5);
  // Control characters are escaped: a client id or a reason must not move a terminal's cursor.
  let line = `${time} ${level} ${typeof rec.msg === 'string' ? rec.msg.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1)) : ''}`;
  for (const [k, v] of Object.entries(rec)) {
    if (OMITTED.has(k) || v === undefined) continue;
    // Plain printable words bare, anything else (spaces, quotes, control characters) quoted.
    line += ` ${k}=${typeof v === 'string' && /^[!#-<>-~]+$/.test(v) ? v : JSON.stringify(v)}`;
  }
  const err = rec.err as { message?: string; stack?: string } | undefined;
  if (err) line += err.stack ? `\n${err.stack.replace(/^/gm, '    ')}` : ` err=${JSON.stringify(err.message ?? err)}`;
  return line;
}

interface Window {
  logged: number;
  repeats: number;
  level: Level;
  message: string;
  fields: Record<string, unknown>;
  timer: NodeJS.Timeout;
}

/**
 * Logs at most `burst` records per key within `intervalMs` of the key's first one; when that
 * interval ends, one more record counts the ones held back (`repeats`), without `err`. Keys beyond
 * `maxKeys` share one more window, so a flood of distinct keys is bounded too.
 */
export class RepeatLimiter {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, Window>();

  constructor(logger: Logger, opts: { intervalMs: number; burst: number; maxKeys?: number }) {
    this.#logger = logger;
    this.#intervalMs = opts.intervalMs;
    this.#burst = opts.burst;
    this.#maxKeys = opts.maxKeys ?? 1000;
  }

  log(level: Level, key: string, fields: Record<string, unknown>, message: string): void {
    if (!this.#windows.has(key) && this.#windows.size >= this.#maxKeys) key = '(other keys)';
    let w = this.#windows.get(key);
    if (!w) {
      const timer = setTimeout(() => this.#end(key), this.#intervalMs);
      timer.unref();
      this.#windows.set(key, (w = { logged: 0, repeats: 0, level, message, fields, timer }));
    }
    if (w.logged < this.#burst) {
      w.logged++;
      this.#logger[level](fields, message);
      return;
    }
    w.repeats++;
    w.level = level;
    w.message = message;
    w.fields = fields;
  }

  /** Ends every window now, logging what each held back (the server calls it when it closes). */
  close(): void {
    for (const key of [...this.#windows.keys()]) this.#end(key);
  }

  #end(key: string): void {
    const w = this.#windows.get(key);
    if (!w) return;
    this.#windows.delete(key);
    clearTimeout(w.timer);
    if (w.repeats === 0) return;
    const { err, ...fields } = w.fields;
    const last = err instanceof Error ? { lastError: err.message } : {};
    const seconds = Math.round(this.#intervalMs / 100) / 10;
    this.#logger[w.level]({ ...fields, ...last, repeats: w.repeats }, `${w.message} (${w.repeats} more like this within ${seconds} s, not logged one by one)`);
  }
}

const MINUTE = 60_000;

/** Who a record is about: the fields every connection event carries. */
export interface ConnFields {
  readonly app: string;
  readonly client?: string;
  readonly user?: string;
}

export interface ServerLog {
  readonly logger: Logger;
  connectionOpened(c: ConnFields & { role: string; remote?: string }): void;
  connectionClosed(c: ConnFields & { code: number; cause?: string; seconds: number }): void;
  signInFailed(c: ConnFields & { code: string; reason: string; remote?: string }): void;
  batchRejected(c: ConnFields & { batchId: string; code: string; reason: string }): void;
  adminRefused(c: { app: string; route: string; remote: string }): void;
  messageFailed(c: ConnFields & { type: string }, err: unknown): void;
  storageFailed(app: string, batchId: string, err: unknown): void;
  /** Logs the counts the rate limits still hold; stops their timers. */
  close(): void;
}

/** The server's events, named and shaped as the header above says. */
export function serverLog(logger: Logger, opts: { intervalMs?: number } = {}): ServerLog {
  const intervalMs = opts.intervalMs ?? MINUTE;
  const failures = new RepeatLimiter(logger, { intervalMs, burst: 1 });
  const refusals = new RepeatLimiter(logger, { intervalMs, burst: 20 });
  const codeOf = (err: unknown): string =>
    err && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : err instanceof Error ? err.name : typeof err;
  return {
    logger,
    connectionOpened: (c) => logger.info({ event: 'connection-opened', ...c }, 'connection opened'),
    connectionClosed: (c) => logger.info({ event: 'connection-closed', ...c }, 'connection closed'),
    signInFailed: (c) => refusals.log('warn', `sign-in\u0000${c.app}\u0000${c.code}`, { event: 'sign-in-failed', ...c }, 'sign-in failed'),
    batchRejected: (c) =>
      refusals.log(c.code === 'TRANSACTION_CONFLICT' ? 'info' : 'warn', `reject\u0000${c.app}\u0000${c.client ?? ''}\u0000${c.code}`, { event: 'batch-rejected', ...c }, 'batch refused'),
    adminRefused: (c) => refusals.log('warn', `admin\u0000${c.app}`, { event: 'admin-refused', ...c }, 'admin request refused: no or wrong admin secret'),
    messageFailed: (c, err) => failures.log('error', `message\u0000${c.type}\u0000${codeOf(err)}`, { event: 'message-failed', ...c, err }, `the server failed to handle a ${c.type} message`),
    storageFailed: (app, batchId, err) => failures.log('error', `storage\u0000${app}\u0000${codeOf(err)}`, { event: 'storage-failed', app, batchId, err }, 'storing a batch failed'),
    close: () => {
      failures.close();
      refusals.close();
    },
  };
}
