import { TributaryError } from '../errors.ts'
import type { StateStore } from '../product/transform.ts'
import type { PartitionedState } from '../state/kv.ts'

/**
 * `ctx.state` for one record at a time, staging the record's changes only once the transform
 * touches the store: most transforms keep no state, and then a record costs no staging at all.
 * The outcome of a record is `keep` (its changes join the batch) or `discard`.
 */
export class RecordState {
  api: StateStore
  readonly #state: PartitionedState
  #partition = 0
  #staging = false
  #revoke: () => void = () => undefined

  constructor(state: PartitionedState) {
    this.#state = state
    this.api = this.#newApi()
  }

  /**
   * Gives later records a new `ctx.state`; the old one refuses every call from now on. For a
   * transform call that timed out and may still run: its late reads and writes must not land in
   * another record's changes.
   */
  renew(): void {
    this.#revoke()
    this.api = this.#newApi()
  }

  #newApi(): StateStore {
    let live = true
    this.#revoke = () => (live = false)
    const begin = (): StateStore => {
      if (!live) throw new TributaryError('TRIB_TRANSFORM_TIMEOUT', 'ctx.state used by a transform call that timed out: its record is a dead letter, and the call is ignored')
      if (!this.#staging) {
        this.#state.begin(this.#partition)
        this.#staging = true
      }
      return this.#state.api
    }
    return {
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
