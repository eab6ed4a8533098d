/**
 * `GET /metrics`: the server's figures in Prometheus's text format, through prom-client, on a
 * registry of the server's own (several servers in one process each count their own):
 *
 *   jazz_connections              gauge      open WebSocket connections
 *   jazz_apps                     gauge      apps open in this process
 *   jazz_batches_total{result}    counter    pushed batches and transactions by outcome:
 *                                            accepted (acknowledged), rejected (refused, any code),
 *                                            failed (the store could not keep it: the client retries)
 *   jazz_fanout_seconds           histogram  from an accepted batch being applied to its versions
 *                                            sent to every connection that holds its rows
 *   jazz_store_bytes              gauge      what the store holds on disk: the data folder's files,
 *                                            or PostgreSQL's jazz tables; absent in memory, and when
 *                                            the store does not answer
 *
 * Gauges are read when scraped (`collect`), never kept up to date on every change.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type BatchResult = 'accepted' | 'rejected' | 'failed';

export interface MetricsSources {
  readonly stats: () => { apps: number; connections: number };
  /** The store's size in bytes, or undefined (memory, or no answer). */
  readonly storeBytes: () => Promise<number | undefined>;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #batches: Counter<'result'>;
  readonly #fanout: Histogram;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'jazz_connections',
      help: 'Open WebSocket connections.',
      registers,
      collect() {
        this.set(sources.stats().connections);
      },
    });
    new Gauge({
      name: 'jazz_apps',
      help: 'Apps open in this process.',
      registers,
      collect() {
        this.set(sources.stats().apps);
      },
    });
    this.#batches = new Counter({
      name: 'jazz_batches_total',
      help: 'Pushed batches and transactions by outcome: accepted, rejected, failed (the store could not keep it).',
      labelNames: ['result'],
      registers,
    });
    for (const r of ['accepted', 'rejected', 'failed'] as const) this.#batches.inc({ result: r }, 0);
    this.#fanout = new Histogram({
      name: 'jazz_fanout_seconds',
      help: 'From an accepted batch being applied to its versions sent to every connection holding its rows.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    new Gauge({
      name: 'jazz_store_bytes',
      help: "Bytes the server's store holds (the data folder's files, or PostgreSQL's jazz tables).",
      registers,
      async collect() {
        const bytes = await sources.storeBytes().catch(() => undefined);
        this.reset();
        if (bytes !== undefined) this.set(bytes);
      },
    });
  }

  batch(result: BatchResult): void {
    this.#batches.inc({ result });
  }

  fanout(seconds: number): void {
    this.#fanout.observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
