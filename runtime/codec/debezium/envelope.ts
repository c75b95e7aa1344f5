/**
 * The Debezium envelope contract, shared by the JSON and Avro readers: checks a decoded payload
 * and turns it into a ChangeEvent, running the per-format converters on the rows and the source.
 *
 * Rules (DESIGN.md, CDC semantics): c and r carry `after`; u carries `after` (`before` only with
 * REPLICA IDENTITY FULL/INDEX); d carries no `after` and usually `before` (the key may come from
 * the message key instead); t is a whole-table truncate with no row.
 */
import { TributaryError } from '../../errors.ts'
import { changeOps, describeRef, FieldError, type ChangeEvent, type ChangeOp, type RecordRef } from './types.ts'
import type { Type } from 'avsc'
import type { Convert } from './semantic.ts'
import { takeUnavailable } from './unavailable.ts'

export interface EnvelopeConverters {
  before?: Convert | undefined
  after?: Convert | undefined
  source?: Convert | undefined
  /** Under evolution: additive, the reader of this writer schema's rows (see ChangeEvent.readerType). */
  reader?: Type | undefined
}

export function envelopeError(at: RecordRef | undefined, message: string, field?: string, cause?: unknown): TributaryError {
  return new TributaryError('TRIB_DECODE_ENVELOPE', `${describeRef(at)}: ${message}`, {
    cause,
    details: { ...at, ...(field === undefined ? {} : { field }) },
  })
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)

function part(payload: Record<string, unknown>, field: string, at: RecordRef | undefined): Record<string, unknown> | null {
  const v = payload[field]
  if (v === undefined || v === null) return null
  if (!isRecord(v)) throw envelopeError(at, `field \`${field}\` is not an object`, field)
  return v
}

function run(convert: Convert | undefined, v: Record<string, unknown> | null, at: RecordRef | undefined): Record<string, unknown> | null {
  if (convert === undefined || v === null) return v
  try {
    return convert(v) as Record<string, unknown>
  } catch (e) {
    if (e instanceof FieldError) throw envelopeError(at, `field ${e.message}`, e.path, e)
    throw e
  }
}

export function toChangeEvent(payload: unknown, converters: EnvelopeConverters, at?: RecordRef): ChangeEvent {
  if (!isRecord(payload)) throw envelopeError(at, 'value is not a Debezium envelope (not an object)')
  const op = payload.op
  if (op === undefined || op === null) throw envelopeError(at, 'field `op` is missing', 'op')
  if (typeof op !== 'string' || !changeOps.has(op)) {
    throw envelopeError(at, `field \`op\` has unknown value ${JSON.stringify(op)} (expected c, u, d, r or t)`, 'op')
  }
  const tsMs = payload.ts_ms ?? null
  if (tsMs !== null && !(typeof tsMs === 'number' && Number.isSafeInteger(tsMs))) {
    throw envelopeError(at, 'field `ts_ms` is not an integer', 'ts_ms')
  }
  const source = run(converters.source, part(payload, 'source', at), at)
  if (op === 't') return { op, before: null, after: null, source, tsMs }

  const before = part(payload, 'before', at)
  const after = part(payload, 'after', at)
  if (op === 'd') {
    if (after !== null) throw envelopeError(at, 'field `after` must be null for op "d"', 'after')
  } else if (after === null) {
    throw envelopeError(at, `field \`after\` is ${payload.after === undefined ? 'missing' : 'null'} for op "${op}"`, 'after')
  }
  // Placeholders are taken out before the converters run (a decimal converter would misread one).
  const taken = after === null ? undefined : takeUnavailable(after)
  const event: ChangeEvent = {
    op: op as ChangeOp,
    before: run(converters.before, before, at),
    after: run(converters.after, taken?.row ?? null, at),
    source,
    tsMs,
  }
  if (taken?.unavailable) event.unavailable = taken.unavailable
  return event
}
