/**
 * `process`, as far as the KV contract suite reads it (`process.env.KV_CONTRACT_SEED`, behind a
 * `typeof process` check). Workers have no `process`; `contract.worker.ts` defines this much of it
 * when the spec passes a seed to replay.
 */
declare var process: { env: Record<string, string | undefined> } | undefined;
