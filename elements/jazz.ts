/**
 * The drop-in script (`dist/jazz.js`): the page's database client (worker/page/index.ts) and every
 * element, defined on import. A static page needs only
 *
 *   <script type="module" src="/jazz.js"></script>
 *
 * and finds the worker (`jazz-worker.js`) beside it.
 */
export * from '../worker/page/index.ts';
export * from './index.ts';
