/**
 * One admitted job's slot. Free it exactly once with `release()` or `using` (`[Symbol.dispose]`).
 * A second `release()` changes nothing and is counted (`doubleReleases`, a `warning` event); disposing
 * a handle already released is the normal `using` safety net and is silent.
 */
export interface SlotHandle extends Disposable {
  /** Frees the slot; true the first time, false (a counted no-op) after. */
  release(): boolean;
  /** Whether the slot has been freed. */
  readonly released: boolean;
  /** Epoch ms the slot was granted. */
  readonly acquiredAt: number;
}
