import type { Type } from 'avsc'
import type { RecordPosition } from '../../log/log.ts'

/**
 * Debezium operations: c create, u update, d delete, r snapshot read, t truncate (a whole-table
 * event with no row; passed through so a product can react to it).
 */
export type ChangeOp = 'c' | 'u' | 'd' | 'r' | 't'

export const changeOps: ReadonlySet<string> = new Set<ChangeOp>(['c', 'u', 'd', 'r', 't'])

/**
 * One change event in canonical form (see the brief's "Canonical in-memory values"): rows hold
 * canonical values whatever the wire format was (JSON with or without schema, Avro).
 */
export interface ChangeEvent {
  op: ChangeOp
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
  /** connector, db, schema, table, lsn, ts_ms... Metadata longs beyond 2^53 (ts_ns) are bigints. */
  source: Record<string, unknown> | null
  /** When Debezium processed the event (envelope ts_ms), not when the row changed (source.ts_ms). */
  tsMs: number | null
  /** Columns of `after` the source did not send (see unavailable.ts); null there. Absent when none. */
  unavailable?: ReadonlySet<string>
  /**
   * Under `evolution: additive`, when the writer schema has columns the port's reader lacks: the
   * reader for this event's row (the declared one plus those columns, types/additive.ts).
   */
  readerType?: Type
}

/** Where a record came from, for error messages; every part is optional because pure callers may not know it. */
export type RecordRef = Partial<RecordPosition>

export const describeRef = (at: RecordRef | undefined): string => {
  if (at?.topic === undefined) return 'change event'
  const partition = at.partition === undefined ? '' : `[${at.partition}]`
  const offset = at.offset === undefined ? '' : `@${at.offset}`
  return `${at.topic}${partition}${offset}`
}

/** Thrown by value converters; carries the field path so the caller can name it. */
export class FieldError extends Error {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options)
    this.name = 'FieldError'
  }
}

/** A converter that adds the field path to whatever it throws. */
export function leaf(convert: (value: unknown) => unknown, path: string): (value: unknown) => unknown {
  return (v) => {
    try {
      return convert(v)
    } catch (e) {
      if (e instanceof FieldError) throw e
      throw new FieldError(path, e instanceof Error ? e.message : String(e), { cause: e })
    }
  }
}
