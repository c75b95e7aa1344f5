import type { TributaryError } from '../../runtime/errors.ts'
import type { OutgoingRecord, PartitionOffset, RecordPosition } from '../../runtime/log/log.ts'
import { tpKey } from './positions.ts'

/**
 * How a unit of commits reaches the broker: a Kafka transaction (exactly-once), or an idempotent
 * producer followed by an offset commit (at-least-once).
 */
export interface UnitBackend<S> {
  /** Opens a unit. Called only once the previous unit has ended. */
  open(): Promise<S>
  /** Sends records inside the unit, in call order; resolves with their positions once acknowledged. */
  send(unit: S, records: readonly OutgoingRecord[]): Promise<RecordPosition[]>
  /** Makes the unit durable: records sent in it, and the group offsets (commit). */
  close(unit: S, group: string, offsets: readonly PartitionOffset[]): Promise<void>
  /** After a failure: undoes what can be undone (abort) and says what failed, as a TributaryError. */
  fail(unit: S | undefined, error: unknown, group: string, records: number, offsets: readonly PartitionOffset[]): Promise<TributaryError>
}

export interface CommitPolicy {
  /** A unit is closed this long after its first commit at the latest; 0 closes every commit at once. */
  intervalMs: number
  /** A unit is closed once its records reach this count. */
  maxRecords: number
}

interface Waiter {
  positions: RecordPosition[]
  resolve(positions: RecordPosition[]): void
  reject(error: TributaryError): void
}

interface Unit<S> {
  readonly group: string
  readonly openedAt: number
  /** Undefined when the unit was failed before it opened. */
  opened: Promise<S | undefined>
  /** Set when an earlier unit failed: nothing more is sent in this one, and it never commits. */
  dead: TributaryError | undefined
  /** The chain of sends in call order; rejects once one failed. */
  sending: Promise<unknown>
  records: number
  readonly offsets: Map<string, PartitionOffset>
  readonly waiters: Waiter[]
}

const ignore = (): void => undefined

/**
 * Groups consecutive commits into one unit, like Kafka Streams' commit.interval.ms: a commit's
 * records are sent at once (so producing overlaps with the caller's next batch), its offsets join
 * the unit's, and the unit ends in one commit when it is due (interval, size) or flushed. Units end
 * in order, one at a time. Every commit's promise resolves only once its unit is durable, and
 * rejects with the unit's error otherwise, so callers see the outcome they would see one commit at
 * a time.
 *
 * After a failed unit the queue refuses commits (with that unit's error) until `recover()`, and
 * every unit begun after it fails too: the commits that follow a failure were made from records the
 * caller must read again from the last durable offsets (the consumer rewinds, then recovers), so
 * nothing read after the failure point is ever made durable.
 */
export class CommitQueue<S> {
  #open: Unit<S> | undefined
  /** Units begun and not ended yet, in order. */
  readonly #units = new Set<Unit<S>>()
  /** The end of the last unit flushed (never rejects): the next unit opens after it. */
  #last: Promise<void> = Promise.resolve()
  #failed: TributaryError | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly backend: UnitBackend<S>,
    private readonly policy: CommitPolicy,
  ) {}

  /** Records and offsets into the open unit; resolves with the records' positions once it is durable. */
  commit(group: string, records: readonly OutgoingRecord[], offsets: readonly PartitionOffset[]): Promise<RecordPosition[]> {
    if (this.#failed) return Promise.reject(this.#failed)
    if (this.#open !== undefined && this.#open.group !== group) void this.flush()
    const unit = (this.#open ??= this.#begin(group))
    const waiter = deferred()
    unit.waiters.push(waiter)
    if (records.length > 0) {
      unit.sending = unit.sending.then(async () => {
        const s = await unit.opened
        if (s !== undefined && unit.dead === undefined) waiter.positions = await this.backend.send(s, records)
      })
      unit.sending.catch(ignore)
      unit.records += records.length
    }
    for (const o of offsets) unit.offsets.set(tpKey(o.topic, o.partition), o)
    if (this.policy.intervalMs <= 0 || unit.records >= this.policy.maxRecords) void this.flush()
    else this.#timer ??= setTimeout(() => void this.flush(), Math.max(0, unit.openedAt + this.policy.intervalMs - Date.now()))
    return waiter.promise
  }

  /** Whether commits are waiting in an open unit. */
  get pending(): boolean {
    return this.#open !== undefined
  }

  /** Ends the open unit now; resolves once it and every earlier unit ended (never rejects). */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const unit = this.#open
    if (unit === undefined) return this.#last
    this.#open = undefined
    this.#last = this.#close(unit)
    return this.#last
  }

  /** Accepts commits again after a failure (the caller has gone back to the durable offsets). */
  recover(): void {
    this.#failed = undefined
  }

  #begin(group: string): Unit<S> {
    const unit: Unit<S> = { group, openedAt: Date.now(), opened: Promise.resolve(undefined), dead: undefined, sending: Promise.resolve(), records: 0, offsets: new Map(), waiters: [] }
    unit.opened = this.#last.then(() => (unit.dead === undefined ? this.backend.open() : undefined))
    unit.opened.catch(ignore)
    unit.sending = unit.opened
    this.#units.add(unit)
    return unit
  }

  async #close(unit: Unit<S>): Promise<void> {
    const offsets = [...unit.offsets.values()]
    let s: S | undefined
    try {
      s = await unit.opened
      await unit.sending
      if (unit.dead !== undefined) throw unit.dead
      await this.backend.close(s!, unit.group, offsets)
    } catch (e) {
      this.#units.delete(unit)
      if (unit.dead !== undefined) {
        // Its commits were refused when the earlier unit failed: only undo what it began.
        if (s !== undefined) await this.backend.fail(s, e, unit.group, unit.records, offsets).catch(ignore)
        return
      }
      const error = await this.backend.fail(s, e, unit.group, unit.records, offsets)
      this.#failed = error
      for (const w of unit.waiters) w.reject(error)
      for (const later of this.#units) {
        later.dead = error
        for (const w of later.waiters) w.reject(error)
      }
      // The open one ends now (its own close aborts it); flushed ones end in their close.
      if (this.#open !== undefined) this.flush()
      return
    }
    this.#units.delete(unit)
    for (const w of unit.waiters) w.resolve(w.positions)
  }
}

function deferred(): Waiter & { promise: Promise<RecordPosition[]> } {
  let resolve!: (p: RecordPosition[]) => void
  let reject!: (e: TributaryError) => void
  const promise = new Promise<RecordPosition[]>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, positions: [], resolve, reject }
}
