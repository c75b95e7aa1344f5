import { TributaryError } from '../../errors.ts'
import { isUtf8 } from '../../codec/values/utf8.ts'
import { readLong, type Cursor } from '../../codec/values/long.ts'
import { TIMESTAMP_INFINITY } from '../../codec/values/temporal.ts'
import { ColumnBatch, type FlatColumn } from './parquet-flat.ts'
import { parseDecimalType } from '../iceberg/schema-types.ts'
import type { PrimitiveType, Schema } from '../iceberg/types.ts'

export { ColumnBatch }

/**
 * The columnar lake path: Avro binary bodies decoded straight into Parquet columns, with no row
 * objects in between. A plan is compiled per writer schema against the table schema and exists
 * only when every field is a primitive this path reads exactly as the canonical path would
 * (plain and nullable primitives, enums, dates, micro/milli timestamps, decimals of up to 18
 * digits, int→long and float→double promotion); otherwise there is no plan and rows take the
 * canonical path (decoded rows written through DuckDB, parquet.ts).
 */

type Read = 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'enum' | 'decimal'

interface FieldStep {
  name: string
  read: Read
  /** The union branch that is null, or -1 when the field is not nullable. */
  nullBranch: number
  /** Table column index, or -1 when the table has no such column (the value is skipped). */
  column: number
  /** Multiply longs by this (1000: millis → micros). */
  scale: number
  /** A timestamp: -2^63, below '-infinity', is no instant the table holds (the canonical writer refuses it). */
  instant?: true
  /** The canonical value is the decoded int, long or string itself (usable as a key). */
  plain: boolean
  /** Text the canonical path reads as a string: checked to be UTF-8 (a uuid also lowercased, as its type reads it). */
  text?: 'string' | 'uuid'
  symbols?: Buffer[]
  /** Decimals: the fixed size (0 for bytes) and the bound of the unscaled value (10^precision). */
  fixed?: number
  limit?: bigint
}

export interface ColumnarPlan {
  /** Decodes one body ([start, end) of buf) into the batch; throws TRIB_DECODE_AVRO, leaving the batch as it was. */
  append(batch: ColumnBatch, buf: Buffer, start: number, end: number): void
  /**
   * Checks a whole body as `append` would, and returns the canonical values of the given top-level
   * fields (a key), or undefined when one is not a plain int, long, string or enum symbol.
   */
  values(buf: Buffer, start: number, end: number, names: readonly string[]): unknown[] | undefined
}

type AvroSchema = string | AvroObject | AvroSchema[]
interface AvroObject {
  type: AvroSchema
  logicalType?: string
  symbols?: string[]
  fields?: Array<{ name: string; type: AvroSchema; default?: unknown; aliases?: string[] }>
  [key: string]: unknown
}

/**
 * The plan for a writer schema (JSON) read as `reader` (the port's schema; the writer's own by
 * default), or undefined when some field needs the canonical path. A writer that differs from the
 * reader gets a plan only when resolution is trivial: no aliases, the shared fields' types equal
 * (int→long and float→double aside), every reader field it lacks defaulting to null. The fields
 * the reader lacks are skipped, as resolution skips them.
 */
export function columnarPlan(writerSchema: unknown, table: Schema, readerSchema: unknown = writerSchema): ColumnarPlan | undefined {
  const root = writerSchema as AvroObject
  const reader = readerSchema as AvroObject
  if (root?.type !== 'record' || !Array.isArray(root.fields) || !Array.isArray(reader?.fields) || !ColumnBatch.fits(table)) return undefined
  const readerFields = new Map(reader.fields.map((f) => [f.name, f]))
  if (reader !== root && !trivialResolution(root.fields, reader.fields)) return undefined
  const columnOf = new Map(table.fields.map((f, i) => [f.name, i]))
  const steps: FieldStep[] = []
  for (const f of root.fields) {
    const step = stepFor(f.name, f.type, readerFields.has(f.name) ? (columnOf.get(f.name) ?? -1) : -1, table)
    if (!step) return undefined
    steps.push(step)
  }
  // A table column the writer lacks is null in every row; only an optional one can be.
  const written = new Set(steps.map((s) => s.column))
  const missing = table.fields.map((_, i) => i).filter((i) => !written.has(i))
  if (missing.some((i) => table.fields[i]!.required)) return undefined
  return new Plan(steps, missing)
}

type AvroField = NonNullable<AvroObject['fields']>[number]

function trivialResolution(writer: AvroField[], reader: AvroField[]): boolean {
  const written = new Map(writer.map((f) => [f.name, f]))
  const promoted = (w: unknown, r: unknown): boolean => {
    const [a, b] = [JSON.stringify(w), JSON.stringify(r)]
    return a === b || (a === '"int"' && b === '"long"') || (a === '"float"' && b === '"double"')
  }
  return reader.every((f) => {
    if ('aliases' in f) return false
    const w = written.get(f.name)
    if (!w) return f.default === null
    if (Array.isArray(w.type) !== Array.isArray(f.type)) return false
    if (!Array.isArray(f.type)) return promoted(w.type, f.type)
    const [wt, rt] = [w.type as AvroSchema[], f.type]
    return wt.length === rt.length && wt.every((t, i) => promoted(t, rt[i]))
  })
}

function stepFor(name: string, type: AvroSchema, column: number, table: Schema): FieldStep | undefined {
  let nullBranch = -1
  let t = type
  if (Array.isArray(t)) {
    if (t.length !== 2 || !t.includes('null')) return undefined
    nullBranch = t.indexOf('null')
    t = t[1 - nullBranch] as AvroSchema
  }
  const o: AvroObject = typeof t === 'string' ? { type: t } : (t as AvroObject)
  if (typeof o.type !== 'string' || Object.keys(o).some((k) => k.startsWith('connect.'))) return undefined
  const logical = o.logicalType
  const base: FieldStep = { name, nullBranch, column, scale: 1, plain: false, read: 'long' }
  let read: Read
  let produces: PrimitiveType
  if (logical === 'decimal' && (o.type === 'bytes' || o.type === 'fixed')) {
    const precision = Number(o.precision)
    const produced = `decimal(${precision}, ${Number(o.scale ?? 0)})` as PrimitiveType
    const target = column < 0 ? undefined : table.fields[column]!.type
    if (target !== undefined && (typeof target !== 'string' || parseDecimalType(target)?.precision !== precision || parseDecimalType(target)?.scale !== Number(o.scale ?? 0))) return undefined
    if (!(precision <= 18) || !matches(table, column, produced, nullBranch)) return undefined
    return { ...base, read: 'decimal', fixed: o.type === 'fixed' ? Number(o.size) : 0, limit: 10n ** BigInt(precision) }
  }
  if (o.type === 'enum' && Array.isArray(o.symbols)) {
    return matches(table, column, 'string', nullBranch) ? { ...base, plain: true, read: 'enum', symbols: o.symbols.map((s) => Buffer.from(s, 'utf8')) } : undefined
  }
  switch (`${o.type}:${logical ?? ''}`) {
    case 'boolean:':
      ;[read, produces] = ['boolean', 'boolean']
      break
    case 'int:':
      ;[read, produces] = ['int', 'int']
      break
    case 'int:date':
      ;[read, produces] = ['int', 'date']
      break
    case 'long:':
      ;[read, produces] = ['long', 'long']
      break
    case 'long:timestamp-millis':
    case 'long:timestamp-micros':
      ;[read, produces] = ['long', 'timestamptz']
      break
    case 'long:local-timestamp-millis':
    case 'long:local-timestamp-micros':
      ;[read, produces] = ['long', 'timestamp']
      break
    case 'float:':
      ;[read, produces] = ['float', 'float']
      break
    case 'double:':
      ;[read, produces] = ['double', 'double']
      break
    case 'string:':
    case 'string:uuid':
      ;[read, produces] = ['bytes', 'string']
      break
    case 'bytes:':
      ;[read, produces] = ['bytes', 'binary']
      break
    default:
      return undefined
  }
  const scale = logical?.endsWith('-millis') ? 1000 : 1
  if (produces === 'timestamp' || produces === 'timestamptz') base.instant = true
  const plain = (read === 'int' || read === 'long' || read === 'bytes') && produces !== 'binary' && (logical === undefined || logical === 'uuid')
  const text = produces !== 'string' ? {} : { text: logical === 'uuid' ? ('uuid' as const) : ('string' as const) }
  if (column < 0) return { ...base, read, scale, plain, ...text }
  const target = table.fields[column]!.type
  // Promotions the table may have had: int → long, float → double.
  const promoted = (produces === 'int' && target === 'long') || (produces === 'float' && target === 'double')
  if (!promoted && !matches(table, column, produces, nullBranch)) return undefined
  return { ...base, read: promoted ? (produces === 'int' ? 'long' : 'double') : read, scale, plain, ...text }
}

const matches = (table: Schema, column: number, type: PrimitiveType, nullBranch: number): boolean =>
  column < 0 || (table.fields[column]!.type === type && (nullBranch < 0 || !table.fields[column]!.required))

const TWO_53 = 2 ** 53
const TWO_53_BIG = 2n ** 53n
const INT64_MIN = -(2n ** 63n)

class Plan implements ColumnarPlan {
  readonly #steps: FieldStep[]
  readonly #missing: number[]
  #pos = 0
  #end = 0
  readonly #cursor: Cursor = { buf: Buffer.alloc(0), pos: 0 }
  readonly #slots = new Map<readonly string[], Int32Array>()

  /** Appending fills no key: every step's slot is -1. */
  readonly #noSlots: Int32Array

  constructor(steps: FieldStep[], missing: number[]) {
    this.#steps = steps
    this.#missing = missing
    this.#noSlots = new Int32Array(steps.length).fill(-1)
  }

  append(batch: ColumnBatch, buf: Buffer, start: number, end: number): void {
    batch.mark()
    try {
      this.#walk(buf, start, end, batch.columns, this.#noSlots, [])
      for (const i of this.#missing) batch.columns[i]!.appendNull()
      batch.rows++
    } catch (e) {
      batch.reset()
      throw e instanceof TributaryError ? e : this.#bad((e as Error).message)
    }
  }

  values(buf: Buffer, start: number, end: number, names: readonly string[]): unknown[] | undefined {
    const out: unknown[] = new Array(names.length)
    try {
      // A key field the writer lacks stays undefined: no key from this path.
      return this.#walk(buf, start, end, undefined, this.#slotsFor(names), out) && !out.includes(undefined) ? out : undefined
    } catch (e) {
      throw e instanceof TributaryError ? e : this.#bad((e as Error).message)
    }
  }

  /**
   * Reads one body: each value goes to its column when `columns` is given, and to `out` when its
   * step has a slot. Says whether every slotted value is a plain one (usable as a key).
   */
  #walk(buf: Buffer, start: number, end: number, columns: FlatColumn[] | undefined, slots: Int32Array, out: unknown[]): boolean {
    this.#pos = start
    this.#end = end
    let plain = true
    // A value that decodes but the table cannot hold: refused once the whole body has decoded, as the
    // reference decodes first and the lake's writer refuses after (so a broken body keeps its own code).
    let unfit: string | undefined
    for (let i = 0; i < this.#steps.length; i++) {
      const s = this.#steps[i]!
      const slot = slots[i]!
      const col = columns !== undefined && s.column >= 0 ? columns[s.column] : undefined
      if (s.nullBranch >= 0) {
        const branch = this.#long(buf)
        if (branch === s.nullBranch) {
          col?.appendNull()
          if (slot >= 0) plain = false
          continue
        }
        if (branch !== 1 - s.nullBranch) throw this.#bad(`field ${s.name}: union branch ${branch} does not exist`)
      }
      let v: unknown
      switch (s.read) {
        case 'boolean':
          this.#need(1)
          // Any byte but 0 is true, as the reference (avsc) and the Debezium decoder read it.
          col?.appendBoolean(buf[this.#pos] !== 0)
          this.#pos++
          break
        case 'int':
          v = this.#int(buf, s)
          col?.appendInt32(v as number)
          break
        case 'long': {
          const n = this.#long(buf)
          v = n
          if (!col) break
          const scaled = s.scale === 1 ? n : typeof n === 'number' && Math.abs(n) < TWO_53 / s.scale ? n * s.scale : this.#scaled(n, s)
          if (scaled === undefined) unfit ??= `field ${s.name}: ${n} millis is beyond the 64-bit microseconds the table holds`
          else if (s.instant && scaled === INT64_MIN) unfit ??= `field ${s.name}: -2^63 is below '-infinity', no timestamp`
          else col.appendInt64(scaled)
          break
        }
        case 'float':
          this.#need(4)
          col?.appendFloat(buf.readFloatLE(this.#pos))
          this.#pos += 4
          break
        case 'double':
          this.#need(8)
          col?.appendDouble(buf.readDoubleLE(this.#pos))
          this.#pos += 8
          break
        case 'bytes': {
          const n = this.#int(buf, s)
          if (n < 0) throw this.#bad(`field ${s.name}: negative length ${n}`)
          this.#need(n)
          const from = this.#pos
          const to = from + n
          this.#pos = to
          if (s.text === undefined) {
            col?.appendBytes(buf, from, to)
            break
          }
          if (s.text === 'string' && col) {
            // The copy says whether the value has non-ASCII bytes; only those can be invalid UTF-8 (the throw drops the copy).
            if (col.appendBytes(buf, from, to) && !isUtf8(buf.subarray(from, to))) throw this.#notUtf8(s)
            if (slot >= 0) v = buf.toString('utf8', from, to)
            break
          }
          // Scanned by hand: most strings are ASCII, and only non-ASCII bytes can be invalid or need lowercasing.
          let plainAscii = true
          for (let i = from; i < to; i++) {
            const c = buf[i]!
            if (c >= 0x80 || (s.text === 'uuid' && c >= 0x41 && c <= 0x5a)) {
              plainAscii = false
              break
            }
          }
          if (!plainAscii && !isUtf8(buf.subarray(from, to))) throw this.#notUtf8(s)
          if (s.text === 'uuid' && !plainAscii) {
            v = buf.toString('utf8', from, to).toLowerCase()
            col?.appendString(v as string)
          } else {
            col?.appendBytes(buf, from, to)
            if (slot >= 0) v = buf.toString('utf8', from, to)
          }
          break
        }
        case 'enum': {
          const symbol = s.symbols![this.#int(buf, s)]
          if (!symbol) throw this.#bad(`field ${s.name}: enum index out of range`)
          col?.appendBytes(symbol, 0, symbol.length)
          if (slot >= 0) v = symbol.toString('utf8')
          break
        }
        case 'decimal': {
          const d = this.#decimal(buf, s)
          if (d === undefined) unfit ??= `field ${s.name}: decimal has more than ${String(s.limit!).length - 1} digits`
          else if (col?.physical === 1) col.appendInt32(d as number)
          else col?.appendInt64(d)
          break
        }
      }
      if (slot >= 0) {
        if (!s.plain || (typeof v !== 'number' && typeof v !== 'string')) plain = false
        out[slot] = v
      }
    }
    if (this.#pos !== end) throw this.#bad(this.#pos < end ? `${end - this.#pos} trailing byte(s) after the record` : 'value is truncated')
    if (unfit !== undefined) throw this.#bad(unfit)
    return plain
  }

  /** For each step, where its value goes among `names` (-1: nowhere). */
  #slotsFor(names: readonly string[]): Int32Array {
    let slots = this.#slots.get(names)
    if (!slots) {
      slots = Int32Array.from(this.#steps, (s) => names.indexOf(s.name))
      this.#slots.set(names, slots)
    }
    return slots
  }

  /** A zigzag varint that must be an int (values, lengths, enum indexes), as the reference reads it. */
  #int(buf: Buffer, s: FieldStep): number {
    const n = this.#long(buf)
    if (typeof n !== 'number' || n < -(2 ** 31) || n >= 2 ** 31) throw this.#bad(`field ${s.name}: varint beyond 32 bits`)
    return n
  }

  /**
   * A zigzag varint: a number when it is safe, else a bigint. Up to seven bytes (< 2^49) summed
   * here, exactly; longer ones by the codec's exact reader.
   */
  #long(buf: Buffer): number | bigint {
    let pos = this.#pos
    let b = buf[pos++]
    if (b === undefined) throw this.#bad('value is truncated')
    let n = b & 0x7f
    let mul = 0x80
    while (b >= 0x80) {
      if (mul === 2 ** 49) return this.#bigLong(buf)
      b = buf[pos++]
      if (b === undefined) throw this.#bad('value is truncated')
      n += (b & 0x7f) * mul
      mul *= 0x80
    }
    if (pos > this.#end) throw this.#bad('value is truncated')
    this.#pos = pos
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2
  }

  #bigLong(buf: Buffer): number | bigint {
    const c = this.#cursor
    c.buf = buf
    c.pos = this.#pos
    const n = readLong(c)
    if (c.pos > this.#end) throw this.#bad('value is truncated')
    this.#pos = c.pos
    return n
  }

  /** A long count scaled exactly (millis → micros): infinity stays infinity; undefined beyond 64 bits. */
  #scaled(n: number | bigint, s: FieldStep): bigint | undefined {
    const big = BigInt(n)
    if (big === TIMESTAMP_INFINITY || big === -TIMESTAMP_INFINITY) return big
    const scaled = big * BigInt(s.scale)
    return BigInt.asIntN(64, scaled) === scaled ? scaled : undefined
  }

  /** A decimal's unscaled value (big-endian two's complement), or undefined when it has more digits than its precision. */
  #decimal(buf: Buffer, s: FieldStep): number | bigint | undefined {
    const n = s.fixed || this.#int(buf, s)
    if (n < 0) throw this.#bad(`field ${s.name}: negative length ${n}`)
    this.#need(n)
    let v: number | bigint
    if (n === 0) v = 0
    else if (n <= 6) v = buf.readIntBE(this.#pos, n)
    else {
      const big = BigInt.asIntN(n * 8, BigInt(`0x${buf.toString('hex', this.#pos, this.#pos + n)}`))
      v = big >= -TWO_53_BIG && big <= TWO_53_BIG ? Number(big) : big
    }
    this.#pos += n
    const limit = s.limit!
    // Below 16 digits the bound is an exact number; above, no safe number reaches it.
    return (typeof v === 'number' ? Math.abs(v) >= Number(limit) : v >= limit || v <= -limit) ? undefined : v
  }

  #notUtf8(s: FieldStep): TributaryError {
    return new TributaryError('TRIB_DECODE_UTF8', `bytes do not decode into the table's columns: field ${s.name} is not valid UTF-8`, { details: { field: s.name } })
  }

  #need(n: number): void {
    if (this.#pos + n > this.#end) throw this.#bad('value is truncated')
  }

  #bad(why: string): TributaryError {
    return new TributaryError('TRIB_DECODE_AVRO', `bytes do not decode into the table's columns: ${why}`)
  }
}
