import type { StateStore } from '../product/transform.ts'
import type { PartitionedState } from '../state/kv.ts'

/**
 * `ctx.state` for one record at a time, staging the record's changes only once the transform
 * touches the store: most transforms keep no state, and then a record costs no staging at all.
 * The outcome of a record is `keep` (its changes join the batch) or `discard`.
 */
export class RecordState {
  readonly api: StateStore
  readonly #state: PartitionedState
  #partition = 0
  #staging = false

  constructor(state: PartitionedState) {
    this.#state = state
    const begin = (): StateStore => {
      if (!this.#staging) {
        state.begin(this.#partition)
        this.#staging = true
      }
      return state.api
    }
    this.api = {
      get: <T>(key: string) => begin().get<T>(key),
      put: (key, value) => begin().put(key, value),
      delete: (key) => begin().delete(key),
    }
  }

  /** The next record comes from `partition` (the store is scoped to it). */
  next(partition: number): void {
    this.#partition = partition
    this.#staging = false
  }

  keep(): void {
    if (this.#staging) this.#state.keep()
  }

  discard(): void {
    if (this.#staging) this.#state.discard()
  }
}
