import avro from 'avsc'
import type { Type } from 'avsc'
import { isInt64, readLong, skipLong, writeLong, type Cursor, type Int64 } from '../values/long.ts'
import { decodeEscaped, isUtf8, isWellFormed } from '../values/utf8.ts'

/**
 * avsc's primitive types made exact, for the reference path: every avsc type Tributary builds
 * (createType, the Debezium envelope types) gets these through `typeHook`.
 * - long: the int64 of the value model (a number while safe, a bigint beyond), read and written
 *   exactly (avsc's own refuses beyond 2^53 and flips the sign of values below -2^52);
 * - int: a varint beyond 32 bits is an error, not a larger number;
 * - float, double: a long promoted to them is rounded once, correctly;
 * - string: bytes that are not UTF-8 throw Utf8Error (avsc would make U+FFFD of them), and a
 *   string with a lone surrogate is not valid, so it is never written;
 * - unwrapped unions: a bigint goes to the long branch;
 * - records: only an object is written as a record (avsc would write a string as one of defaults).
 * `utf8: 'escape'` builds types whose strings keep invalid bytes as lone surrogates instead of
 * throwing (see values/utf8.ts); decoders use them to name the field of a Utf8Error.
 *
 * These subclass avsc's own types and override its documented per-type hooks (`_read`, `_write`,
 * `_check`, `_update`, …); the union also reads avsc's `_bucketIndices` and `_dynamicBranches`
 * (avsc 5.7). test/unit/codec/properties.test.ts holds them equal to the generated fast paths.
 */

/** Thrown by a string read when the bytes are not UTF-8; decoders turn it into TRIB_DECODE_UTF8. */
export class Utf8Error extends Error {
  constructor() {
    super('string is not valid UTF-8')
    this.name = 'Utf8Error'
  }
}

type Tap = Cursor & { readLong(): number; writeString(s: string): void; skipString(): void; _invalidate(): void }
type Resolver = { _read: (tap: Tap) => unknown }
type Hook = (value: unknown, type: Type) => void
// avsc's classes, which its typings do not describe as constructible with these hooks.
const types = avro.types as unknown as Record<string, new (...args: unknown[]) => Type>

// Values are never printed: they end up in logs and dead-letter headers and may be personal data.
function invalid(value: unknown, type: Type): never {
  throw new Error(`invalid ${JSON.stringify(type.schema())}: a ${value === null ? 'null' : typeof value}`)
}

class ExactLong extends types.LongType! {
  _check(v: unknown, _flags: unknown, hook?: Hook): boolean {
    const ok = isInt64(v)
    if (!ok && hook) hook(v, this)
    return ok
  }
  _read(tap: Tap): Int64 {
    return readLong(tap)
  }
  _skip(tap: Tap): void {
    skipLong(tap)
  }
  _write(tap: Tap, v: unknown): void {
    if (!isInt64(v)) invalid(v, this)
    writeLong(tap, v)
  }
  _match(a: Tap, b: Tap): number {
    return compare(readLong(a), readLong(b))
  }
  _copy(v: unknown): unknown {
    // Schema defaults come through here: JSON gives a number, which must be exact already.
    if (!isInt64(v)) invalid(v, this)
    return v
  }
  override compare(a: Int64, b: Int64): number {
    return compare(a, b)
  }
  _update(resolver: Resolver, writer: Type): void {
    if (writer.typeName === 'int') resolver._read = (tap) => (writer as unknown as Resolver)._read(tap)
    else if (writer.typeName === 'long') resolver._read = readLong
  }
}

const compare = (a: Int64, b: Int64): number => (a < b ? -1 : a > b ? 1 : 0)

class RangeInt extends types.IntType! {
  _read(tap: Tap): number {
    const n = tap.readLong()
    if (n !== (n | 0) && tap.pos <= tap.buf.length) throw new Error(`int value ${n} is beyond 32 bits`)
    return n
  }
  _update(resolver: Resolver, writer: Type): void {
    if (writer.typeName === 'int') resolver._read = (tap) => this._read(tap)
  }
}

/** The float nearest to an int64, rounded once (a double first would round twice). */
function toFloat32(v: Int64): number {
  if (typeof v === 'number') return Math.fround(v)
  const negative = v < 0n
  const a = negative ? -v : v
  const shift = a.toString(2).length - 24
  if (shift <= 0) return Math.fround(Number(v))
  let mantissa = a >> BigInt(shift)
  const rest = a - (mantissa << BigInt(shift))
  const half = 1n << BigInt(shift - 1)
  if (rest > half || (rest === half && (mantissa & 1n) === 1n)) mantissa += 1n
  const out = Number(mantissa) * 2 ** shift
  return negative ? -out : out
}

class ExactFloat extends types.FloatType! {
  _update(resolver: Resolver, writer: Type): void {
    if (writer.typeName === 'long') resolver._read = (tap) => toFloat32(readLong(tap))
    else if (writer.typeName === 'int' || writer.typeName === 'float') resolver._read = (tap) => (writer as unknown as Resolver)._read(tap)
  }
}

class ExactDouble extends types.DoubleType! {
  _update(resolver: Resolver, writer: Type): void {
    // Number(bigint) rounds to the nearest double.
    if (writer.typeName === 'long') resolver._read = (tap) => Number(readLong(tap))
    else if (writer.typeName === 'int' || writer.typeName === 'float' || writer.typeName === 'double') resolver._read = (tap) => (writer as unknown as Resolver)._read(tap)
  }
}

/** One string value: length, then UTF-8 bytes checked (a U+FFFD in the result is the cheap hint). */
function readString(tap: Tap, escape: boolean): string | undefined {
  const len = tap.readLong()
  if (len < 0) {
    tap._invalidate()
    return ''
  }
  const start = tap.pos
  const end = (tap.pos += len)
  const buf = tap.buf
  if (end > buf.length) return undefined
  const s = (buf as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(start, end)
  if (s.indexOf('\uFFFD') >= 0 && !isUtf8(buf.subarray(start, end))) {
    if (escape) return decodeEscaped(buf, start, end)
    throw new Utf8Error()
  }
  return s
}

function makeString(escape: boolean) {
  return class Utf8String extends types.StringType! {
    _check(v: unknown, _flags: unknown, hook?: Hook): boolean {
      const ok = typeof v === 'string' && isWellFormed(v)
      if (!ok && hook) hook(v, this)
      return ok
    }
    _read(tap: Tap): string | undefined {
      return readString(tap, escape)
    }
    _write(tap: Tap, v: unknown): void {
      if (typeof v !== 'string' || !isWellFormed(v)) invalid(v, this)
      tap.writeString(v)
    }
    _update(resolver: Resolver, writer: Type): void {
      // bytes promote to string: the same wire form, and the same check.
      if (writer.typeName === 'string' || writer.typeName === 'bytes') resolver._read = (tap) => readString(tap, escape)
    }
  }
}
const Utf8String = makeString(false)
const EscapingString = makeString(true)

/** avsc's record writer reads fields off anything (a string writes as a record of defaults): only objects are records. */
class StrictRecord extends types.RecordType! {
  _createWriter(this: Type & { _createWriter(): (tap: Tap, v: unknown) => void }): (tap: Tap, v: unknown) => void {
    const write = (types.RecordType!.prototype as unknown as { _createWriter(): (tap: Tap, v: unknown) => void })._createWriter.call(this)
    return (tap, v) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) invalid(v, this)
      write(tap, v)
    }
  }
}

interface UnionInternals {
  types: Type[]
  _bucketIndices: Record<string, number | undefined>
  _dynamicBranches: unknown[] | null
  _getBranchIndex(value: unknown, index: number | undefined): number | undefined
}

class ExactUnion extends types.UnwrappedUnionType! {
  _getIndex(this: ExactUnion & UnionInternals, value: unknown): number | undefined {
    let index: number | undefined
    if (typeof value === 'bigint') {
      const n = this._bucketIndices.number
      index = n !== undefined && this.types[n]!.typeName === 'long' ? n : undefined
    } else {
      index = this._bucketIndices[bucketOf(value)]
    }
    return this._dynamicBranches ? this._getBranchIndex(value, index) : index
  }
}

// avsc's getValueBucket.
const bucketOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : Buffer.isBuffer(v) ? 'buffer' : typeof v)

/**
 * A reader `long` that says `"connect.name": "io.debezium.time.MicroDuration"`: bare.ts refuses
 * the int64 limits Debezium sends in place of an interval it cannot hold. A class rather than a
 * mark beside the type, as avsc freezes its types.
 */
class MicroDurationLong extends ExactLong {}
const isMicroDurationSchema = (schema: unknown): boolean =>
  (schema as { 'connect.name'?: unknown } | null)?.['connect.name'] === 'io.debezium.time.MicroDuration'
export const isMicroDurationLong = (type: Type): boolean => type instanceof MicroDurationLong

const PENDING = Symbol('tributary.pendingLogicalType')
type HookOptions = {
  logicalTypes?: Record<string, { accepts?: (schema: Record<string, unknown>) => boolean }>
  wrapUnions?: unknown
  [PENDING]?: unknown
}

/**
 * avsc's `typeHook` for the exact types. A logical type of ours is left to avsc, which then asks
 * for its underlying type with the same schema object: that second call gets an exact type. A
 * logical type whose schema it does not accept (wrong underlying type, bad parameters) is the
 * underlying type, as the Avro spec says.
 */
export function exactTypeHook(utf8: 'throw' | 'escape' = 'throw') {
  return (schema: unknown, opts: HookOptions): Type | undefined => {
    let name: unknown = schema
    if (Array.isArray(schema)) {
      return opts.wrapUnions === false || opts.wrapUnions === 'never' ? (new ExactUnion(schema, opts) as Type) : undefined
    }
    if (typeof schema === 'object' && schema !== null) {
      const s = schema as Record<string, unknown>
      const logical = typeof s.logicalType === 'string' ? opts.logicalTypes?.[s.logicalType] : undefined
      if (logical && (logical.accepts?.(s) ?? true)) {
        if (opts[PENDING] !== schema) {
          opts[PENDING] = schema
          return undefined
        }
        opts[PENDING] = undefined
      }
      name = s.type
      if (name === 'record') return new StrictRecord(schema, opts) as Type
    }
    switch (name) {
      case 'long':
        return (isMicroDurationSchema(schema) ? new MicroDurationLong() : new ExactLong()) as Type
      case 'int':
        return new RangeInt() as Type
      case 'float':
        return new ExactFloat() as Type
      case 'double':
        return new ExactDouble() as Type
      case 'string':
        return new (utf8 === 'escape' ? EscapingString : Utf8String)() as Type
      default:
        return undefined
    }
  }
}
