/**
 * The fast path for Debezium change events in Avro: one function generated per writer schema reads
 * the envelope's bytes straight into canonical rows. Compared with avsc + convert + conform it
 * makes one object per row instead of three, calls no per-type virtual readers, converts semantic
 * types in place (a decimal is read from the bytes, not from a copy of them) and, given a plan
 * (conform-plan.ts), builds `after` directly in the reader schema's shape.
 *
 * It is only an optimisation of compileAvroChange (with `withSource: false`) followed by conform.
 * Anything unusual in a record (truncated or trailing bytes, a bad union or enum index, a varint
 * beyond 64 bits, an int beyond int32, a string that is not UTF-8, a value a semantic converter
 * refuses, a row the plan refuses, a truncate, an envelope that breaks its rules) makes the decoder
 * throw, and the caller decodes that record again on the exact path, which gives the same value or
 * the canonical error. Schemas it does not handle (recursive types) get no fast decoder.
 */
import { isUtf8 } from '../values/utf8.ts'
import { bytesToDecimalAt } from '../values/decimal.ts'
import type { RowPlan, WriterField } from '../types/conform-plan.ts'
import { Generator, READERS, Unsupported } from './avro-fast-gen.ts'
import { isObject, qualify, type AvroObject, type AvroSchema } from './avro-names.ts'
import { changeOps, type ChangeEvent } from './types.ts'

/** Decodes the Avro body at buf[start..]; throws (anything) when the exact path must decide. */
export type FastChangeDecoder = (buf: Buffer, start: number) => ChangeEvent

export interface FastChange {
  decode: FastChangeDecoder
  /** True when `after` comes out conformed to the reader (a plan was given and accepted). */
  conformed: boolean
}

/** Envelope fields skipped unread, as compileAvroChange does with `withSource: false`. */
const metadataFields = new Set(['source', 'transaction', 'ts_us', 'ts_ns'])

/**
 * `planAfter` receives the row's writer fields and may return how to build `after` in the reader's
 * shape. `local` names the row's zoneless timestamps to read as local (as compileAvroChange).
 * Returns undefined when the schema needs something the fast path does not do.
 */
export function compileFastChange(writerSchema: object, planAfter?: (fields: WriterField[]) => RowPlan | undefined, local?: ReadonlySet<string>): FastChange | undefined {
  try {
    return generate(writerSchema, planAfter, local)
  } catch (e) {
    if (e instanceof Unsupported) return undefined
    throw e
  }
}

function generate(writerSchema: object, planAfter?: (fields: WriterField[]) => RowPlan | undefined, local?: ReadonlySet<string>): FastChange {
  const { schema, named } = qualify(writerSchema as AvroSchema)
  if (!isObject(schema) || schema.type !== 'record' || !Array.isArray(schema.fields)) throw new Unsupported()
  const g = new Generator(named)
  const fields = schema.fields as AvroObject[]
  let conformed = false
  const body: string[] = []
  for (const f of fields) {
    const name = String(f.name)
    const type = f.type as AvroSchema
    if (name === 'before') body.push(g.rowUnion(type, 'before', undefined, local))
    else if (name === 'after') {
      const row = g.rowOf(type)
      const plan = planAfter?.(g.describeFields(row, local))
      conformed = plan !== undefined
      body.push(g.rowUnion(type, 'after', plan, local))
    } else if (name === 'op') body.push(g.read(type, 'op'))
    else if (name === 'ts_ms') body.push(g.read(type, 'tsMs'))
    else if (metadataFields.has(name)) body.push(g.skip(type))
    // Other fields are read (and so checked) like the exact path reads them, then dropped.
    else body.push(g.read(type, g.tmp()))
  }
  const source = `
    let b, p = 0, end = 0, base = 0, text
    const decline = () => { throw DECLINE }
    ${READERS}
    return function decodeEnvelope(buf, start) {
      b = buf; p = start; end = buf.length; base = start; text = undefined
      let op, tsMs = null, before = null, after = null, x${g.declarations()}
      ${body.join('\n')}
      b = undefined; text = undefined
      if (p !== end || typeof op !== 'string' || op === 't' || !OPS.has(op)) decline()
      if (tsMs !== null && !Number.isSafeInteger(tsMs)) decline()
      if (op === 'd' ? after !== null : after === null) decline()
      return { op, before, after, source: null, tsMs }
    }`
  // eslint-disable-next-line no-new-func -- generated from the schema; names are JSON-quoted.
  const decode = new Function('K', 'DECLINE', 'OPS', 'decimalAt', 'isUtf8', source)(g.consts, DECLINE, changeOps, bytesToDecimalAt, isUtf8) as FastChangeDecoder
  return { decode, conformed }
}

/** Declines are thrown as this one object: no stack to capture on the hot path. */
const DECLINE = Object.freeze({ declined: true })
