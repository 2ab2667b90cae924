import type { Dispatcher, Pool as UndiciPoolType } from 'undici';
// @ts-expect-error -- undici publishes declarations for its index only; typed below with the index's own types.
import poolModule from 'undici/lib/dispatcher/pool.js';
// @ts-expect-error -- as above.
import requestModule from 'undici/lib/api/api-request.js';

const UndiciPool = poolModule as typeof UndiciPoolType;
const request = requestModule as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/**
 * undici's `Pool` with the one API method the client calls, `request`, loaded from their own files: the
 * package's index loads every dispatcher, fetch, WebSocket, the cache stores and more for it (about 8 MB more
 * RSS in the idle agent, measured by apps/agent's `bench:idle`). The index adds the API methods to undici's
 * shared `Dispatcher.prototype`; this subclass has its own and leaves undici's classes as they are.
 */
export class Pool extends UndiciPool {}
Object.defineProperty(Pool.prototype, 'request', { value: request, writable: true, configurable: true });
