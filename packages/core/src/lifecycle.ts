import type { RediverError } from './errors';

/*
 * The one lifecycle and event contract of the packages (see CONTRIBUTING.md, "Lifecycle and events"). Types and
 * pure helpers only: the emitter itself is eventemitter3, passed in by each package (core has no dependencies).
 */

/** A component that must be started: `start()` resolves once it runs; calling it again is a no-op. */
export interface Startable {
  start(): Promise<void>;
}

/**
 * A component owning timers, handles, files or sockets: `close()` drains or flushes and releases them; every call
 * returns the same promise; `await using` closes it too.
 */
export interface Closable extends AsyncDisposable {
  close(): Promise<void>;
}

/**
 * Memoises a close routine: the first call runs `run`, every call returns that same promise (which settles after
 * `run` did, rejected if it threw). `closed()` says whether it was called.
 */
export function closeOnce(run: () => Promise<void> | void): { (): Promise<void>; closed(): boolean } {
  let promise: Promise<void> | undefined;
  const close = (): Promise<void> => (promise ??= (async () => run())());
  close.closed = (): boolean => promise !== undefined;
  return close;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- listeners of any signature, as eventemitter3 types them
type AnyListener = (...args: any[]) => void;

/** The eventemitter3 emitter a component composes (it hands out the listener half, never `emit`). */
export interface EmitterLike {
  on(event: string, fn: AnyListener, context?: unknown): unknown;
  once(event: string, fn: AnyListener, context?: unknown): unknown;
  off(event: string, fn?: AnyListener, context?: unknown, once?: boolean): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
  removeAllListeners(event?: string): unknown;
}

/**
 * An event map. The contract is one payload per event (an object); only deprecated aliases kept for existing
 * listeners may have positional arguments.
 */
export type EventMapOf<E> = { [K in keyof E]: (...args: never[]) => void };

/** One listener of event `K` of map `E`. */
export type EventListener<E, K extends keyof E> = E[K];

/**
 * The one way a component reports a failure that no call of the caller can receive (a background write, a timer,
 * a listener that threw): an `error` event with this payload. The component carries on.
 */
export interface BackgroundErrorEvent<S extends string = string> {
  /** What failed, normalised to the package's error class. */
  error: RediverError;
  /** Which background activity failed (e.g. `maintenance`, `upload`, `sample`, `listener`, `write`). */
  source: S;
}

/**
 * Base of every component: typed single-payload events (`domain:verb` names; `error` for background failures,
 * see `BackgroundErrorEvent`) on a composed eventemitter3 emitter whose `emit` stays protected, and
 * `[Symbol.asyncDispose]` delegating to `close()`. Subclasses call `super(new EventEmitter())` and implement
 * `close()` with `closeOnce`.
 */
export abstract class Component<E extends EventMapOf<E>> implements Closable {
  readonly #emitter: EmitterLike;

  protected constructor(emitter: EmitterLike) {
    this.#emitter = emitter;
  }

  /** Subscribes to an event. */
  on<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.#emitter.on(event, listener as unknown as AnyListener);
    return this;
  }

  /** Subscribes to the next occurrence of an event. */
  once<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.#emitter.once(event, listener as unknown as AnyListener);
    return this;
  }

  /** Unsubscribes a listener (every listener of the event when `listener` is omitted). */
  off<K extends keyof E & string>(event: K, listener?: E[K]): this {
    this.#emitter.off(event, listener as unknown as AnyListener | undefined);
    return this;
  }

  /** Same as `on`. */
  addListener<K extends keyof E & string>(event: K, listener: E[K]): this {
    return this.on(event, listener);
  }

  /** Same as `off`. */
  removeListener<K extends keyof E & string>(event: K, listener?: E[K]): this {
    return this.off(event, listener);
  }

  /** Unsubscribes every listener of an event, or of every event. */
  removeAllListeners(event?: keyof E & string): this {
    if (event === undefined) this.#emitter.removeAllListeners();
    else this.#emitter.removeAllListeners(event);
    return this;
  }

  /** How many listeners an event has. */
  listenerCount(event: keyof E & string): number {
    return this.#emitter.listenerCount(event);
  }

  /** Emits an event to its listeners (for the component and its internals only). */
  protected emit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): boolean {
    return this.#emitter.emit(event, ...args);
  }

  /** Drains or flushes, releases what the component holds; the same promise on every call. */
  abstract close(): Promise<void>;

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Base of a component without events: `[Symbol.asyncDispose]` delegating to `close()`. */
export abstract class ClosableBase implements Closable {
  /** Releases what the component holds; the same promise on every call. */
  abstract close(): Promise<void>;

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
