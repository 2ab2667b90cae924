import UndiciPool from 'undici/lib/dispatcher/pool.js';
import request from 'undici/lib/api/api-request.js';

/**
 * undici's `Pool` with the one API method the client calls, `request`, loaded from their own files: the
 * package's index loads every dispatcher, fetch, WebSocket, the cache stores and more for it (about 8 MB more
 * RSS in the idle agent, measured by apps/agent's `bench:idle`). The index adds the API methods to undici's
 * shared `Dispatcher.prototype`; this subclass has its own and leaves undici's classes as they are.
 */
export class Pool extends UndiciPool {}
Object.defineProperty(Pool.prototype, 'request', { value: request, writable: true, configurable: true });
