/**
 * For tests and benchmarks: the real command line (server/cli.ts) as a child process, through tsx,
 * with an environment cleared of `JAZZ_*` variables (the machine's own settings cannot leak in).
 *
 * - `runCli` starts it and collects its output; `startCli` also waits for the banner (30 s at most,
 *   else it rejects with what the process printed) and gives its URL and port.
 * - The caller ends the process: `stop()` (SIGTERM: the server drains, then exits 0), or
 *   `kill()` (SIGKILL), each resolving with the exit code (or null after a signal).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliRun {
  readonly proc: ChildProcess;
  readonly out: () => string;
  readonly err: () => string;
  readonly exited: Promise<number | null>;
}

export interface Cli {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly port: number;
  readonly stdout: () => string;
  /** The JSON log records written so far. */
  readonly records: () => Record<string, unknown>[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then the exit code (null). */
  kill(): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/** The environment without JAZZ_* variables. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JAZZ_')));
}

export function runCli(args: readonly string[], cwd = process.cwd()): CliRun {
  const proc = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, out: () => out, err: () => err, exited };
}

export async function startCli(args: readonly string[], cwd = process.cwd()): Promise<Cli> {
  const r = runCli(args, cwd);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => (r.proc.kill('SIGKILL'), reject(new Error(`no banner within 30 s:\n${r.out()}\n${r.err()}`))), 30_000);
    r.proc.stdout!.on('data', () => {
      const m = /listening on (ws:\/\/\S+)/.exec(r.out());
      if (m) clearTimeout(timer), resolve(m[1]!);
    });
    void r.exited.then((code) => (clearTimeout(timer), reject(new Error(`the CLI exited with ${code}:\n${r.err()}`))));
  });
  const signal = (s: NodeJS.Signals) => {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill(s);
    return r.exited;
  };
  return {
    proc: r.proc,
    url,
    port: Number(new URL(url).port),
    stdout: r.out,
    records: () =>
      r
        .out()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    exited: r.exited,
  };
}
