/**
 * Talking to a test worker from a spec: the page starts a module worker from the e2e server, and
 * each request goes to it through `page.evaluate` and comes back as the worker's one reply
 * (protocol in e2e/worker/protocol.ts).
 */
import type { Page } from '@playwright/test';

/** A dedicated worker started by a page, answering one request at a time. */
export interface TestWorker<Request, Reply> {
  request(message: Request): Promise<Reply>;
}

interface PageSide {
  __e2eWorkers?: Map<number, Worker>;
}

let ids = 0;

/** Starts `new Worker(url, { type: 'module' })` in `page`. */
export async function startWorker<Request, Reply>(page: Page, url: string): Promise<TestWorker<Request, Reply>> {
  const id = ids++;
  await page.evaluate(
    ([id, url]) => {
      const side = window as unknown as PageSide;
      side.__e2eWorkers ??= new Map();
      side.__e2eWorkers.set(id, new Worker(url, { type: 'module' }));
    },
    [id, url] as const,
  );
  return {
    request: (message) =>
      page.evaluate(
        ([id, message]) =>
          new Promise<Reply>((resolve, reject) => {
            const worker = (window as unknown as PageSide).__e2eWorkers!.get(id)!;
            const done = (): void => {
              worker.removeEventListener('message', onMessage);
              worker.removeEventListener('error', onError);
            };
            const onMessage = (event: MessageEvent): void => {
              done();
              resolve(event.data as Reply);
            };
            // A module that fails to load or a throw outside the message handler.
            const onError = (event: ErrorEvent): void => {
              done();
              reject(new Error(`The worker failed: ${event.message || 'it did not load (see the e2e server output)'}`));
            };
            worker.addEventListener('message', onMessage);
            worker.addEventListener('error', onError);
            worker.postMessage(message);
          }),
        [id, message] as const,
      ),
  };
}
