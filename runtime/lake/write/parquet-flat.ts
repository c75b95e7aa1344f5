import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { TributaryError } from '../../errors.ts'
import { parseDecimalType } from '../iceberg/schema-types.ts'
import { encodeStruct, varint, type ThriftStruct, type ThriftValue } from './thrift.ts'
import type { NestedField, PrimitiveType } from '../iceberg/types.ts'
import { pushAll } from '../../util/arrays.ts'

/**
 * A Parquet writer for flat rows of primitive columns, filled value by value from bytes (the
 * columnar lake path decodes Avro straight into it: no row objects, no per-value native calls).
 * One row group; PLAIN values, RLE definition levels, GZIP pages, Iceberg field ids and the
 * logical types Iceberg's Parquet mapping asks for. Column statistics are kept while filling, so no
 * second pass reads the file. Anything nested goes through DuckDB (parquet.ts).
 * https://github.com/apache/parquet-format/blob/master/README.md
 */

/** The Iceberg primitive types this writer stores, with their Parquet physical type. */
const PHYSICAL: Partial<Record<string, number>> = { boolean: 0, int: 1, date: 1, long: 2, timestamp: 2, timestamptz: 2, float: 4, double: 5, string: 6, binary: 6 }

/** The Parquet physical type of an Iceberg type this writer stores (decimals up to 18 digits as INT32/INT64), else undefined. */
export function flatPhysical(type: unknown): number | undefined {
  if (typeof type !== 'string') return undefined
  const decimal = parseDecimalType(type)
  if (decimal) return decimal.precision <= 9 ? 1 : decimal.precision <= 18 ? 2 : undefined
  return PHYSICAL[type]
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

  constructor(field: NestedField) {
    const physical = flatPhysical(field.type)
    if (physical === undefined) throw new TributaryError('TRIB_INTERNAL', `field ${field.name}: type ${JSON.stringify(field.type)} has no flat Parquet column`)
    this.field = field
    this.type = field.type as PrimitiveType
    this.physical = physical
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
    else this.#bound(Math.fround(v))
  }

  appendDouble(v: number): void {
    this.#row(true)
    this.values.reserve(8)
    this.values.buf.writeDoubleLE(v, this.values.len)
    this.values.len += 8
    if (Number.isNaN(v)) this.nans++
    else this.#bound(v)
  }

  /** A string (UTF-8) or binary value: bytes [start, end) of `src`. */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    this.#row(true)
    const n = end - start
    this.values.reserve(4 + n)
    const buf = this.values.buf
    let at = this.values.len
    buf[at++] = n & 0xff
    buf[at++] = (n >>> 8) & 0xff
    buf[at++] = (n >>> 16) & 0xff
    buf[at++] = n >>> 24
    // Short values by hand: a native copy costs more than the loop below ~64 bytes.
    if (n < 64) for (let i = start; i < end; i++) buf[at++] = src[i] as number
    else {
      buf.set(src.subarray(start, end), at)
      at += n
    }
    this.values.len = at
    if (this.minBytes === undefined || compareBytes(src, start, end, this.minBytes, this.minStart, this.minEnd) < 0) {
      this.minBytes = src
      this.minStart = start
      this.minEnd = end
    }
    if (this.maxBytes === undefined || compareBytes(src, start, end, this.maxBytes, this.maxStart, this.maxEnd) > 0) {
      this.maxBytes = src
      this.maxStart = start
      this.maxEnd = end
    }
  }

  #bound(v: number | bigint | boolean): void {
    if (this.min === undefined || v < this.min) this.min = v
    if (this.max === undefined || v > this.max) this.max = v
  }

  /** Drops everything appended after row `rows` (a record that failed halfway). Bounds may stay wider. */
  truncate(rows: number, nonNull: number, byte: number): void {
    this.rows = rows
    this.nonNull = nonNull
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
  }
  const decimal = parseDecimalType(c.type)
  const l = decimal ? ([5, [[5, { struct: [[1, { i32: decimal.scale }], [2, { i32: decimal.precision }]] }]]] as [number, ThriftStruct]) : logical[c.type]
  return [
    [1, { i32: c.physical }],
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
