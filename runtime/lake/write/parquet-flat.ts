import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { TributaryError } from '../../errors.ts'
import { parseDecimalType } from '../iceberg/schema-types.ts'
import { encodeStruct, varint, type ThriftStruct, type ThriftValue } from './thrift.ts'
import type { NestedField, PrimitiveType, Schema } from '../iceberg/types.ts'
import { pushAll } from '../../util/arrays.ts'

/**
 * The lake's Parquet writer for tables of top-level primitive columns (every table an Avro record
 * of primitives makes), filled value by value: from canonical rows (rows.ts) or straight from
 * Avro bodies (the columnar decode, avro-columns.ts), with no per-value native calls. One row
 * group; PLAIN values, RLE definition levels, GZIP pages, Iceberg field ids, the logical types of
 * Iceberg's Parquet mapping, and the schema's requiredness (a required field is a REQUIRED column,
 * as the spec asks; DuckDB's writer marks every column optional). Column statistics are kept
 * while filling, so no second pass reads the file. Nested tables go through DuckDB (parquet.ts).
 * https://github.com/apache/parquet-format/blob/master/README.md
 */

/** The Iceberg primitive types this writer stores, with their Parquet physical type. */
const PHYSICAL: Partial<Record<string, number>> = { boolean: 0, int: 1, date: 1, long: 2, time: 2, timestamp: 2, timestamptz: 2, float: 4, double: 5, string: 6, binary: 6 }
const FIXED_LEN_BYTE_ARRAY = 7

/**
 * The Parquet physical type of an Iceberg type this writer stores, else undefined. Decimals are
 * INT32 up to 9 digits, INT64 up to 18, and FIXED_LEN_BYTE_ARRAY of the fewest bytes that hold
 * their precision beyond (the spec's mapping).
 */
export function flatPhysical(type: unknown): number | undefined {
  if (typeof type !== 'string') return undefined
  const decimal = parseDecimalType(type)
  if (decimal) return decimal.precision <= 9 ? 1 : decimal.precision <= 18 ? 2 : FIXED_LEN_BYTE_ARRAY
  return PHYSICAL[type]
}

/** The fewest two's-complement bytes that hold every decimal of `precision` digits. */
export function decimalBytes(precision: number): number {
  const largest = 10n ** BigInt(precision) - 1n
  let n = 1
  while (largest >= 1n << BigInt(8 * n - 1)) n++
  return n
}

const PAGE_ROWS = 65_536
const gzip = promisify(zlib.gzip)
const TWO_32 = 4_294_967_296

/** Bytes that grow by doubling. */
class Bytes {
  buf = Buffer.allocUnsafe(1 << 16)
  len = 0
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }
}

/** Where a page starts: its first row, value and byte. */
interface PageStart {
  row: number
  value: number
  byte: number
}

export class FlatColumn {
  readonly field: NestedField
  readonly type: PrimitiveType
  readonly physical: number
  /** FIXED_LEN_BYTE_ARRAY columns (wide decimals): the bytes per value. */
  readonly typeLength: number
  readonly values = new Bytes()
  /** One byte per row, 1 when the value is present (optional columns only). */
  readonly defined: Bytes | undefined
  rows = 0
  nonNull = 0
  nans = 0
  min: number | bigint | boolean | undefined
  max: number | bigint | boolean | undefined
  /** Byte-array bounds: the source buffer and range of the least and greatest value. */
  minBytes: Uint8Array | undefined
  minStart = 0
  minEnd = 0
  maxBytes: Uint8Array | undefined
  maxStart = 0
  maxEnd = 0
  readonly #pages: PageStart[] = []
  /**
   * Each bound as it was before the row (1-based count) that last moved it, so a row that fails
   * halfway leaves none of its values in them (a row appends one value per column, so it moves
   * each bound at most once). Plain fields: a monotonic column moves its bound every row.
   */
  #minRow = 0
  #minBefore: number | bigint | boolean | undefined
  #minBytesBefore: Uint8Array | undefined
  #minStartBefore = 0
  #minEndBefore = 0
  #maxRow = 0
  #maxBefore: number | bigint | boolean | undefined
  #maxBytesBefore: Uint8Array | undefined
  #maxStartBefore = 0
  #maxEndBefore = 0

  constructor(field: NestedField) {
    const physical = flatPhysical(field.type)
    if (physical === undefined) throw new TributaryError('TRIB_INTERNAL', `field ${field.name}: type ${JSON.stringify(field.type)} has no flat Parquet column`)
    this.field = field
    this.type = field.type as PrimitiveType
    this.physical = physical
    this.typeLength = physical === FIXED_LEN_BYTE_ARRAY ? decimalBytes(parseDecimalType(field.type as string)!.precision) : 0
    this.defined = field.required ? undefined : new Bytes()
  }

  #row(present: boolean): void {
    if (this.rows % PAGE_ROWS === 0) this.#pages.push({ row: this.rows, value: this.nonNull, byte: this.values.len })
    if (this.defined) {
      this.defined.reserve(1)
      this.defined.buf[this.defined.len++] = present ? 1 : 0
    }
    this.rows++
    if (present) this.nonNull++
  }

  appendNull(): void {
    // A REQUIRED column has no definition levels to say a value is missing.
    if (!this.defined) throw new TributaryError('TRIB_INTERNAL', `field ${this.field.name} is required: a null cannot be written`)
    this.#row(false)
  }

  appendBoolean(v: boolean): void {
    this.#row(true)
    this.values.reserve(1)
    this.values.buf[this.values.len++] = v ? 1 : 0
    this.#bound(v)
  }

  appendInt32(v: number): void {
    this.#row(true)
    this.values.reserve(4)
    this.values.buf.writeInt32LE(v, this.values.len)
    this.values.len += 4
    this.#bound(v)
  }

  /** A safe integer or a bigint (values beyond 2^53 in magnitude). */
  appendInt64(v: number | bigint): void {
    this.#row(true)
    this.values.reserve(8)
    const at = this.values.len
    if (typeof v === 'bigint') this.values.buf.writeBigInt64LE(v, at)
    else {
      const hi = Math.floor(v / TWO_32)
      this.values.buf.writeUInt32LE(v - hi * TWO_32, at)
      this.values.buf.writeInt32LE(hi, at + 4)
    }
    this.values.len += 8
    this.#bound(v)
  }

  appendFloat(v: number): void {
    this.#row(true)
    this.values.reserve(4)
    this.values.buf.writeFloatLE(v, this.values.len)
    this.values.len += 4
    if (Number.isNaN(v)) this.nans++
    else this.#floatBound(Math.fround(v))
  }

  appendDouble(v: number): void {
    this.#row(true)
    this.values.reserve(8)
    this.values.buf.writeDoubleLE(v, this.values.len)
    this.values.len += 8
    if (Number.isNaN(v)) this.nans++
    else this.#floatBound(v)
  }

  /** A decimal's unscaled value in a FIXED_LEN_BYTE_ARRAY column (big-endian two's complement); the caller checks the precision. */
  appendFixedDecimal(v: number | bigint): void {
    this.#row(true)
    const n = this.typeLength
    this.values.reserve(n)
    const buf = this.values.buf
    let rest = BigInt(v)
    for (let i = this.values.len + n - 1; i >= this.values.len; i--) {
      buf[i] = Number(rest & 0xffn)
      rest >>= 8n
    }
    this.values.len += n
    this.#bound(v)
  }

  /** A string as UTF-8 (the caller checks it has no lone surrogate, which UTF-8 cannot hold). */
  appendString(v: string): void {
    this.values.reserve(4 + v.length * 3)
    const buf = this.values.buf
    const at = this.values.len
    // ASCII by hand (most keys, codes, e-mails): a native write per short string costs more.
    let n = 0
    if (v.length < 64) {
      for (; n < v.length; n++) {
        const c = v.charCodeAt(n)
        if (c >= 0x80) break
        buf[at + 4 + n] = c
      }
    }
    if (n < v.length) n += buf.write(v.slice(n), at + 4 + n, 'utf8')
    buf.writeUInt32LE(n, at)
    // Appended in place: the bounds may refer to the column's own bytes, which are never rewritten.
    this.appendBytes(this.values.buf, at + 4, at + 4 + n, true)
  }

  /**
   * A string (UTF-8) or binary value: bytes [start, end) of `src` (`inPlace`: already written as the
   * next value). False when the value is known to be ASCII (a caller checking UTF-8 can skip it).
   */
  appendBytes(src: Uint8Array, start: number, end: number, inPlace = false): boolean {
    let high = 0x80
    this.#row(true)
    const n = end - start
    if (inPlace) this.values.len = end
    else {
      this.values.reserve(4 + n)
      const buf = this.values.buf
      let at = this.values.len
      buf[at++] = n & 0xff
      buf[at++] = (n >>> 8) & 0xff
      buf[at++] = (n >>> 16) & 0xff
      buf[at++] = n >>> 24
      // Short values by hand: a native copy costs more than the loop below ~64 bytes.
      if (n < 64) {
        high = 0
        for (let i = start; i < end; i++) high |= buf[at++] = src[i] as number
      } else {
        buf.set(src.subarray(start, end), at)
        at += n
      }
      this.values.len = at
    }
    if (this.minBytes === undefined || compareBytes(src, start, end, this.minBytes, this.minStart, this.minEnd) < 0) {
      this.#minRow = this.rows
      this.#minBytesBefore = this.minBytes
      this.#minStartBefore = this.minStart
      this.#minEndBefore = this.minEnd
      this.minBytes = src
      this.minStart = start
      this.minEnd = end
    }
    if (this.maxBytes === undefined || compareBytes(src, start, end, this.maxBytes, this.maxStart, this.maxEnd) > 0) {
      this.#maxRow = this.rows
      this.#maxBytesBefore = this.maxBytes
      this.#maxStartBefore = this.maxStart
      this.#maxEndBefore = this.maxEnd
      this.maxBytes = src
      this.maxStart = start
      this.maxEnd = end
    }
    return high >= 0x80
  }

  #bound(v: number | bigint | boolean): void {
    if (this.min === undefined || v < this.min) this.#setMin(v)
    if (this.max === undefined || v > this.max) this.#setMax(v)
  }

  #setMin(v: number | bigint | boolean): void {
    this.#minRow = this.rows
    this.#minBefore = this.min
    this.min = v
  }

  #setMax(v: number | bigint | boolean): void {
    this.#maxRow = this.rows
    this.#maxBefore = this.max
    this.max = v
  }

  /** Iceberg orders -0 before 0 (Java's float order), so -0 is a tighter lower bound and 0 a tighter upper one. NaN is never a bound. */
  #floatBound(v: number): void {
    const { min, max } = this as { min: number | undefined; max: number | undefined }
    if (min === undefined || v < min || (v === 0 && min === 0 && 1 / v < 0)) this.#setMin(v)
    if (max === undefined || v > max || (v === 0 && max === 0 && 1 / max < 0)) this.#setMax(v)
  }

  /** Drops everything appended after row `rows` (a record that failed halfway): counts and bounds are as they were. */
  truncate(rows: number, nonNull: number, byte: number, nans: number): void {
    if (this.#minRow === rows + 1) {
      this.min = this.#minBefore
      this.minBytes = this.#minBytesBefore
      this.minStart = this.#minStartBefore
      this.minEnd = this.#minEndBefore
    }
    if (this.#maxRow === rows + 1) {
      this.max = this.#maxBefore
      this.maxBytes = this.#maxBytesBefore
      this.maxStart = this.#maxStartBefore
      this.maxEnd = this.#maxEndBefore
    }
    this.#minRow = this.#maxRow = 0
    this.rows = rows
    this.nonNull = nonNull
    this.nans = nans
    this.values.len = byte
    if (this.defined) this.defined.len = rows
    while (this.#pages.length > 0 && this.#pages.at(-1)!.row >= rows) this.#pages.pop()
  }

  /**
   * The column's pages ([header, compressed body] per page) and their size before compression.
   * Pages compress on libuv's thread pool, so a file's columns compress in parallel.
   */
  async pages(): Promise<{ parts: Buffer[]; uncompressed: number }> {
    const out: Buffer[] = []
    let uncompressed = 0
    const ends = [...this.#pages.slice(1), { row: this.rows, value: this.nonNull, byte: this.values.len }]
    const pages = await Promise.all(
      this.#pages.map(async (p, i) => {
        const end = ends[i]!
        const levels = this.defined ? definitionLevels(this.defined.buf, p.row, end.row) : undefined
        const values = this.type === 'boolean' ? packBits(this.values.buf, p.value, end.value) : this.values.buf.subarray(p.byte, end.byte)
        const body = levels ? Buffer.concat([levels, values]) : values
        return { p, end, body, compressed: await gzip(body, { level: 1 }) }
      }),
    )
    for (const { p, end, body, compressed } of pages) {
      const header = encodeStruct([
        [1, { i32: 0 }], // DATA_PAGE
        [2, { i32: body.length }],
        [3, { i32: compressed.length }],
        [5, { struct: [[1, { i32: end.row - p.row }], [2, { i32: 0 }], [3, { i32: 3 }], [4, { i32: 3 }]] }], // PLAIN values, RLE levels
      ])
      out.push(header, compressed)
      uncompressed += header.length + body.length
    }
    return { parts: out, uncompressed }
  }
}

/** The columns of one file being filled, in table field order. */
export class ColumnBatch {
  readonly columns: FlatColumn[]
  rows = 0
  readonly #marks: Int32Array

  constructor(schema: Schema) {
    this.columns = schema.fields.map((f) => new FlatColumn(f))
    this.#marks = new Int32Array(this.columns.length * 3)
  }

  /** Can this writer store a table of this schema (top-level primitive columns only)? */
  static fits(schema: Schema): boolean {
    return schema.fields.every((f) => flatPhysical(f.type) !== undefined)
  }

  /** Remembers where every column is, so `reset` can drop a row that failed half way. */
  mark(): void {
    const { columns } = this
    for (let i = 0; i < columns.length; i++) {
      this.#marks[i * 3] = columns[i]!.nonNull
      this.#marks[i * 3 + 1] = columns[i]!.values.len
      this.#marks[i * 3 + 2] = columns[i]!.nans
    }
  }

  reset(): void {
    this.columns.forEach((c, i) => c.truncate(this.rows, this.#marks[i * 3]!, this.#marks[i * 3 + 1]!, this.#marks[i * 3 + 2]!))
  }
}

/** Byte order of two ranges. By hand: Buffer#compare's native call per value halved the fill rate. */
function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart)
  for (let i = 0; i < n; i++) {
    const d = (a[aStart + i] as number) - (b[bStart + i] as number)
    if (d !== 0) return d
  }
  return aEnd - aStart - (bEnd - bStart)
}

/** Definition levels (bit width 1) as the RLE/bit-packed hybrid, with its 4-byte length prefix. */
function definitionLevels(defined: Uint8Array, from: number, to: number): Buffer {
  const n = to - from
  let all = true
  for (let i = from; i < to && all; i++) all = defined[i] === 1
  const out: number[] = []
  if (all) {
    varint(out, n * 2) // one RLE run of 1s
    out.push(1)
  } else {
    const groups = Math.ceil(n / 8)
    varint(out, groups * 2 + 1) // one bit-packed run
    pushAll(out, packBits(defined, from, to))
  }
  const b = Buffer.allocUnsafe(4 + out.length)
  b.writeUInt32LE(out.length, 0)
  b.set(out, 4)
  return b
}

function packBits(bytes: Uint8Array, from: number, to: number): Buffer {
  const out = Buffer.alloc(Math.ceil((to - from) / 8))
  for (let i = from; i < to; i++) if (bytes[i]) out[(i - from) >> 3]! |= 1 << ((i - from) & 7)
  return out
}


/** The schema element of a column: physical type, repetition, field id and logical type. */
function schemaElement(c: FlatColumn): ThriftStruct {
  const logical: Partial<Record<PrimitiveType, [converted: number, ThriftStruct]>> = {
    string: [0, [[1, { struct: [] }]]], // UTF8, STRING
    date: [6, [[6, { struct: [] }]]], // DATE
    timestamptz: [10, [[8, { struct: [[1, { bool: true }], [2, { struct: [[2, { struct: [] }]] }]] }]]], // TIMESTAMP_MICROS, UTC
    timestamp: [10, [[8, { struct: [[1, { bool: false }], [2, { struct: [[2, { struct: [] }]] }]] }]]],
    time: [8, [[7, { struct: [[1, { bool: false }], [2, { struct: [[2, { struct: [] }]] }]] }]]], // TIME_MICROS, not UTC
  }
  const decimal = parseDecimalType(c.type)
  const l = decimal ? ([5, [[5, { struct: [[1, { i32: decimal.scale }], [2, { i32: decimal.precision }]] }]]] as [number, ThriftStruct]) : logical[c.type]
  return [
    [1, { i32: c.physical }],
    [2, c.typeLength > 0 ? { i32: c.typeLength } : undefined],
    [3, { i32: c.field.required ? 0 : 1 }],
    [4, { bin: c.field.name }],
    [6, l ? { i32: l[0] } : undefined],
    [7, decimal ? { i32: decimal.scale } : undefined],
    [8, decimal ? { i32: decimal.precision } : undefined],
    [9, { i32: c.field.id }],
    [10, l ? { struct: l[1] } : undefined],
  ]
}

/** The whole file: magic, every column's pages, footer. Returns the parts in order. */
export async function writeFlatParquet(columns: FlatColumn[], rows: number): Promise<Buffer[]> {
  const parts: Buffer[] = [Buffer.from('PAR1')]
  let offset = 4
  const chunks: ThriftValue[] = []
  const compressed = await Promise.all(columns.map((c) => c.pages()))
  for (const [i, c] of columns.entries()) {
    const { parts: pages, uncompressed } = compressed[i]!
    const start = offset
    const size = pages.reduce((n, p) => n + p.length, 0)
    pushAll(parts, pages)
    offset += size
    const meta: ThriftStruct = [
      [1, { i32: c.physical }],
      [2, { list: [{ i32: 0 }, { i32: 3 }], of: 'i32' }],
      [3, { list: [{ bin: c.field.name }], of: 'bin' }],
      [4, { i32: 2 }], // GZIP
      [5, { i64: rows }],
      [6, { i64: uncompressed }],
      [7, { i64: size }],
      [9, { i64: start }],
    ]
    chunks.push({ struct: [[2, { i64: start }], [3, { struct: meta }]] })
  }
  const footer = encodeStruct([
    [1, { i32: 1 }],
    [2, { list: [{ struct: [[4, { bin: 'schema' }], [5, { i32: columns.length }]] }, ...columns.map((c) => ({ struct: schemaElement(c) }))], of: 'struct' }],
    [3, { i64: rows }],
    [4, { list: [{ struct: [[1, { list: chunks, of: 'struct' }], [2, { i64: offset - 4 }], [3, { i64: rows }]] }], of: 'struct' }],
    [6, { bin: 'tributary version 0.1.0' }],
  ])
  const tail = Buffer.allocUnsafe(8)
  tail.writeUInt32LE(footer.length, 0)
  tail.write('PAR1', 4)
  parts.push(footer, tail)
  return parts
}
