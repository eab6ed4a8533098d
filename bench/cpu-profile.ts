/**
 * CPU profiles of a page and its dedicated workers while a benchmark step runs, for choosing what
 * to optimise by measurement (`PROFILE=tx npm run bench -- browser`). Playwright's CDP sessions
 * reach pages only, and the engine runs in a worker, so this talks to Chromium's DevTools endpoint
 * itself: the browser is launched with `--remote-debugging-port=0`, the port is read from
 * `DevToolsActivePort` in the profile folder, and every page and dedicated worker is attached with
 * flattened sessions (`Target.setAutoAttach`).
 *
 * `start()` starts V8's sampling profiler in each attached target; `stop(dir, label)` writes one
 * `.cpuprofile` per target (open them in Chromium's DevTools, Performance panel) and returns a
 * summary: for each target, the functions with the most self time and the most total time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';

/** The flag that makes Chromium write its DevTools port into the profile folder. */
export const DEBUG_PORT_ARG = '--remote-debugging-port=0';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
}

export class CpuProfiler {
  readonly #ws: WebSocket;
  #next = 1;
  readonly #calls = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  #sampling = false;
  readonly #started = new Set<string>();
  #interval = 100;
  /** Attached targets by session id: their type and URL. */
  readonly #targets = new Map<string, { type: string; url: string }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.id !== undefined) {
        const call = this.#calls.get(msg.id);
        this.#calls.delete(msg.id);
        if (msg.error) call?.reject(new Error(`${msg.error.message} (${msg.error.code})`));
        else call?.resolve(msg.result);
      } else if (msg.method === 'Target.attachedToTarget') {
        const { sessionId, targetInfo } = msg.params;
        this.#targets.set(sessionId, { type: targetInfo.type, url: targetInfo.url });
        // A page's own workers: attach them too, each paused at its start, so that a worker started
        // while sampling is profiled from its first script (a cold start).
        if (targetInfo.type === 'page') this.#send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId).catch(() => {});
        const run = () => this.#send('Runtime.runIfWaitingForDebugger', {}, sessionId).catch(() => {});
        if (this.#sampling && targetInfo.type === 'worker') this.#startIn(sessionId).then(run, run);
        else run();
      } else if (msg.method === 'Target.detachedFromTarget') this.#targets.delete(msg.params.sessionId);
    });
  }

  /** Connects to the browser whose profile folder is `userDataDir` (launched with DEBUG_PORT_ARG). */
  static async connect(userDataDir: string): Promise<CpuProfiler> {
    const [port, path] = readFileSync(join(userDataDir, 'DevToolsActivePort'), 'utf8').trim().split('\n');
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const p = new CpuProfiler(ws);
    await p.#send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true });
    return p;
  }

  #send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** Starts sampling (every `intervalUs` µs) in every attached page and worker, and in workers started meanwhile. */
  async start(intervalUs = 100): Promise<void> {
    this.#sampling = true;
    this.#interval = intervalUs;
    for (const sessionId of this.#targets.keys()) await this.#startIn(sessionId);
  }

  async #startIn(sessionId: string): Promise<void> {
    if (this.#started.has(sessionId)) return; // attached while start() ran: started once
    this.#started.add(sessionId);
    await this.#send('Profiler.enable', {}, sessionId);
    await this.#send('Profiler.setSamplingInterval', { interval: this.#interval }, sessionId);
    await this.#send('Profiler.start', {}, sessionId);
  }

  /** Stops sampling, writes `<dir>/<label>-<target>.cpuprofile` for each target, returns a summary. */
  async stop(dir: string, label: string, top = 25): Promise<string> {
    this.#sampling = false;
    this.#started.clear();
    const out: string[] = [];
    let k = 0;
    for (const [sessionId, t] of this.#targets) {
      const { profile } = (await this.#send('Profiler.stop', {}, sessionId).catch(() => ({}))) as { profile?: CpuProfile };
      if (!profile) continue;
      const name = `${label}-${t.type}${k++}`;
      const file = join(dir, `${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      out.push(`${name} (${t.url.split('/').pop()?.split('?')[0] || t.url}) → ${file}`, summarise(profile, top));
    }
    return out.join('\n');
  }

  close(): void {
    this.#ws.close();
  }
}

/** Self and total time per function (idle and V8's own "(program)" left out), as text. */
export function summarise(p: CpuProfile, top: number): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: CpuNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    const dt = p.timeDeltas[i] ?? 0;
    all += dt;
    if (n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)') continue;
    busy += dt;
    self.set(key(n), (self.get(key(n)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const k = key(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
  const list = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => !k.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `    ${((100 * v) / (busy || 1)).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`)
      .join('\n');
  return `  busy ${(busy / 1000).toFixed(0)} ms of ${(all / 1000).toFixed(0)} ms\n  self:\n${list(self)}\n  total:\n${list(total)}`;
}
