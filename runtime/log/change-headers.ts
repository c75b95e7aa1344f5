import type { Headers, LogRecord } from './log.ts'

/**
 * What an output record says beyond "a row" or "a tombstone for a key", in two headers that the
 * encoder writes and every reader of output topics honours (the snapshot compactor, table-mode
 * ports):
 * - `tributary.op: truncate` (no key, no value): the port's table is emptied;
 * - `tributary.unavailable: a,b` on a row: the values of fields a and b are unknown (null in the
 *   row) and the stored ones are kept, as for Debezium's unchanged TOASTed columns; those of the
 *   key in `tributary.unavailable.from` when the row's key changed.
 */
export const OP_HEADER = 'tributary.op'
export const UNAVAILABLE_HEADER = 'tributary.unavailable'
/** With the unavailable header: the key (encoded as the record key is) whose stored values are kept. */
export const UNAVAILABLE_FROM_HEADER = 'tributary.unavailable.from'
const TRUNCATE = Buffer.from('truncate')

export const isTruncate = (headers: Readonly<Headers> | undefined): boolean => headers?.[OP_HEADER]?.equals(TRUNCATE) ?? false

/** The unavailable fields a record names, or undefined when none. */
export function unavailableOf(headers: Readonly<Headers> | undefined): ReadonlySet<string> | undefined {
  const h = headers?.[UNAVAILABLE_HEADER]
  if (h === undefined || h.length === 0) return undefined
  return new Set(h.toString('utf8').split(','))
}

export const truncateHeaders = (): Headers => ({ [OP_HEADER]: Buffer.from(TRUNCATE) })

export const unavailableHeader = (fields: Iterable<string>): Buffer => Buffer.from([...fields].join(','))

/** A row with the unavailable fields taken from the stored one (kept null when nothing is stored). */
export function keepUnavailable(row: Record<string, unknown>, unavailable: ReadonlySet<string>, stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const merged = { ...row }
  for (const field of unavailable) merged[field] = stored?.[field] ?? null
  return merged
}

/**
 * Orders a truncate on a topic of several partitions. The encoder writes the truncate marker into
 * every partition at one point of the output; a reader must apply it after every record written
 * before it and before every record written after it, in all partitions. So records of a
 * partition whose marker has arrived are held until the markers of all partitions have: then the
 * last marker is the truncate (`true`), the others only move their partition's offset (`false`),
 * and the held records follow. Nothing of a partition past its marker is handed out early, so a
 * reader that commits offsets meanwhile resumes before the marker and the barrier forms again.
 */
export class TruncateBarrier {
  readonly #partitions: number
  readonly #arrived = new Map<number, LogRecord>()
  #held: LogRecord[] = []

  constructor(partitions: number) {
    this.#partitions = partitions
  }

  /** The records to apply now, in order, each with whether it is the truncate. */
  take(records: readonly LogRecord[]): Array<[record: LogRecord, truncate: boolean]> {
    const out: Array<[LogRecord, boolean]> = []
    const queue = [...records]
    for (let i = 0; i < queue.length; i++) {
      const r = queue[i]!
      if (this.#arrived.has(r.partition)) {
        this.#held.push(r)
        continue
      }
      if (!isTruncate(r.headers)) {
        out.push([r, false])
        continue
      }
      this.#arrived.set(r.partition, r)
      if (this.#arrived.size < this.#partitions) continue
      const markers = [...this.#arrived.values()]
      markers.forEach((m, j) => out.push([m, j === markers.length - 1]))
      this.#arrived.clear()
      // The held records come next, before the rest of this batch (they were read earlier).
      queue.splice(i + 1, 0, ...this.#held)
      this.#held = []
    }
    return out
  }
}
