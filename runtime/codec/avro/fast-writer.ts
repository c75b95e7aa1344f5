import type { Type } from 'avsc'
import type { AnyType } from '../types/conform.ts'
import { smallCanonical } from '../values/decimal.ts'
import { CanonicalType, DecimalType } from '../types/logical-types.ts'

/**
 * A generated Avro writer for one avsc type (from createType): the encoder's hot path. avsc's
 * writer calls a virtual `_write` per value and converts logical values through generic paths;
 * this one is a single function per schema with every check and write inline.
 *
 * It is only an optimisation: for every value it accepts it writes exactly the bytes the reference
 * (avsc with the exact types of types/avro-types.ts) writes: the same varint, string and
 * default-value code. For a value the reference would refuse it returns -1
 * and for a buffer too small TOO_SMALL, and the caller encodes with avsc (which then grows its
 * buffer or reports the mismatch) or retries with room. Types it does not handle (unions holding logical
 * types, logical types other than ours, recursive records) get no fast writer.
 */
export type FastWriter = (value: unknown, buf: Buffer, pos: number) => number

/** What a FastWriter returns when the value does not fit in the buffer from `pos` (a refusal is -1). */
export const TOO_SMALL = -2

class Unsupported extends Error {}

export function compileFastWriter(type: Type): FastWriter | undefined {
  const g = new Generator()
  let body: string
  try {
    body = g.write(type, 'value')
  } catch (e) {
    if (e instanceof Unsupported) return undefined
    throw e
  }
  const source = `
    let b, p = 0
    const decline = () => { throw DECLINE }
    const full = () => { throw FULL }
    ${HELPERS}
    return function writeValue(value, buf, pos) {
      b = buf; p = pos
      try {
        let x${g.declarations()}
        ${body}
      } catch (e) {
        return e === DECLINE ? -1 : -2 // a refusal, or a write past the end (RangeError or FULL)
      } finally {
        b = undefined
      }
      return p <= buf.length ? p : -2
    }`
  // eslint-disable-next-line no-new-func -- generated from the schema; field names are JSON-quoted.
  return new Function('K', 'DECLINE', 'FULL', source)(g.consts, DECLINE, FULL) as FastWriter
}

/** Thrown as these objects: no stack to capture on the hot path. */
const DECLINE = Object.freeze({ declined: true })
const FULL = Object.freeze({ full: true })

// The varint of values/long.ts (exact for every int64, a number or a bigint) and avsc's
// Tap.writeString (including its hand-written UTF-8 below 65 bytes), over the closure's (b, p); an
// ASCII string takes a loop without Buffer.byteLength. A string with a lone surrogate is declined:
// it has no UTF-8 form (avsc's reference refuses it too).
const HELPERS = `
    function long(n) {
      if (typeof n !== 'number') return bigLong(n)
      if (n >= -1073741824 && n < 1073741824) {
        let m = n >= 0 ? n << 1 : (~n << 1) | 1
        while (m > 0x7f) { b[p++] = (m & 0x7f) | 0x80; m >>>= 7 }
        b[p++] = m
        return
      }
      const a = n >= 0 ? n : -n - 1
      let q = Math.floor(a / 64)
      b[p++] = ((a % 64) * 2 + (n >= 0 ? 0 : 1)) | 0x80
      while (q > 0x7f) { b[p++] = (q % 128) | 0x80; q = Math.floor(q / 128) }
      b[p++] = q
    }
    function bigLong(n) {
      let z = n >= 0n ? n << 1n : ((-n - 1n) << 1n) | 1n
      while (z > 0x7fn) { b[p++] = Number(z & 0x7fn) | 0x80; z >>= 7n }
      b[p++] = Number(z)
    }
    function str(s) {
      const n = s.length, start = p
      long(n)
      if (p + n > b.length) full()
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c > 127) { p = start; return utf8(s) }
        b[p + i] = c
      }
      p += n
    }
    function utf8(s) {
      if (!s.isWellFormed()) decline()
      const len = Buffer.byteLength(s)
      long(len)
      if (p + len > b.length) full()
      let q = p
      p += len
      if (len > 64) { b.utf8Write(s, q, len); return }
      // avsc loops to the byte length, writing filler past the string that later writes cover.
      for (let i = 0, l = len; i < l; i++) {
        let c1 = s.charCodeAt(i), c2
        if (c1 < 0x80) b[q++] = c1
        else if (c1 < 0x800) { b[q++] = c1 >> 6 | 0xc0; b[q++] = c1 & 0x3f | 0x80 }
        else if ((c1 & 0xfc00) === 0xd800 && ((c2 = s.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
          c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff); i++
          b[q++] = c1 >> 18 | 0xf0; b[q++] = c1 >> 12 & 0x3f | 0x80; b[q++] = c1 >> 6 & 0x3f | 0x80; b[q++] = c1 & 0x3f | 0x80
        } else { b[q++] = c1 >> 12 | 0xe0; b[q++] = c1 >> 6 & 0x3f | 0x80; b[q++] = c1 & 0x3f | 0x80 }
      }
    }
    function twos(n) {
      let length = 1
      while (n < -(2 ** (8 * length - 1)) || n >= 2 ** (8 * length - 1)) length++
      long(length)
      if (p + length > b.length) full()
      for (let i = length - 1, v = n; i >= 0; i--) { const low = ((v % 256) + 256) % 256; b[p + i] = low; v = (v - low) / 256 }
      p += length
    }
    function raw(v, n) {
      if (p + n > b.length) full()
      if (n <= 16) for (let i = 0; i < n; i++) b[p + i] = v[i]
      else b.set(v, p)
      p += n
    }`

/** avsc's bucket of a union branch (see its getTypeBucket). */
function bucketOf(type: Type): string {
  switch (type.typeName) {
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return 'number'
    case 'bytes':
    case 'fixed':
      return 'buffer'
    case 'enum':
      return 'string'
    case 'map':
    case 'record':
    case 'error':
      return 'object'
    default:
      return type.typeName
  }
}

class Generator {
  readonly consts: unknown[] = []
  readonly #writing = new Set<Type>()
  #vars = 0

  #const(value: unknown): string {
    this.consts.push(value)
    return `K[${this.consts.length - 1}]`
  }

  #tmp(): string {
    return `v${this.#vars++}`
  }

  declarations(): string {
    return Array.from({ length: this.#vars }, (_, i) => `, v${i}`).join('')
  }

  /** Statements writing the value in local `v`, or declining. */
  write(type: Type, v: string): string {
    const t = type as AnyType
    if (type instanceof CanonicalType) {
      // avsc's LogicalType._write: the underlying type writes _toValue's result.
      const wire = this.#tmp()
      const general = `${wire} = ${this.#const(type)}._toValue(${v}); ${this.write(t.underlyingType!, wire)}`
      if (!(type instanceof DecimalType && t.underlyingType!.typeName === 'bytes')) return general
      // A short decimal goes straight from its digits to the bytes decimalToBytes would make.
      const limit = 10 ** type.precision
      return `if (typeof ${v} === 'string' && (x = ${this.#const(smallCanonical)}(${v}, ${type.scale})) !== undefined && Math.abs(x) < ${limit}) twos(x); else { ${general} }`
    }
    switch (type.typeName) {
      case 'null':
        return `if (${v} !== null) decline();`
      case 'boolean':
        return `if (typeof ${v} !== 'boolean') decline(); b[p++] = ${v} ? 1 : 0;`
      case 'int':
        return `if (${v} !== (${v} | 0)) decline(); long(${v});`
      case 'long':
        // An int64 of the value model: a safe integer, or a bigint within 64 bits.
        return `if (typeof ${v} === 'number' ? !Number.isSafeInteger(${v}) : typeof ${v} !== 'bigint' || ${v} < -9223372036854775808n || ${v} > 9223372036854775807n) decline(); long(${v});`
      case 'float':
        return `if (typeof ${v} !== 'number') decline(); b.writeFloatLE(${v}, p); p += 4;`
      case 'double':
        return `if (typeof ${v} !== 'number') decline(); b.writeDoubleLE(${v}, p); p += 8;`
      case 'string':
        return `if (typeof ${v} !== 'string') decline(); str(${v});`
      case 'bytes':
        return `if (!Buffer.isBuffer(${v})) decline(); long(${v}.length); raw(${v}, ${v}.length);`
      case 'fixed':
        return `if (!Buffer.isBuffer(${v}) || ${v}.length !== ${Number(t.size)}) decline(); raw(${v}, ${Number(t.size)});`
      case 'enum': {
        const index = this.#const(new Map(t.symbols!.map((s, i) => [s, i])))
        return `x = ${index}.get(${v}); if (x === undefined) decline(); long(x);`
      }
      case 'array': {
        const i = this.#tmp()
        const item = this.#tmp()
        return `if (!Array.isArray(${v})) decline(); if (${v}.length) { long(${v}.length); for (${i} = 0; ${i} < ${v}.length; ${i}++) { ${item} = ${v}[${i}]; ${this.write(t.itemsType!, item)} } } long(0);`
      }
      case 'map': {
        const keys = this.#tmp()
        const i = this.#tmp()
        const item = this.#tmp()
        return `if (!${v} || typeof ${v} !== 'object' || Array.isArray(${v})) decline(); ${keys} = Object.keys(${v}); if (${keys}.length) { long(${keys}.length); for (${i} = 0; ${i} < ${keys}.length; ${i}++) { str(${keys}[${i}]); ${item} = ${v}[${keys}[${i}]]; ${this.write(t.valuesType!, item)} } } long(0);`
      }
      case 'record':
      case 'error':
        return this.#record(t, v)
      case 'union:unwrapped':
        return this.#union(t.types!, v)
      default:
        throw new Unsupported()
    }
  }

  #record(t: AnyType, v: string): string {
    if (this.#writing.has(t)) throw new Unsupported() // recursive
    this.#writing.add(t)
    const steps = t.fields!.map((f) => {
      const field = this.#tmp()
      const read = `${field} = ${v}[${JSON.stringify(f.name)}];`
      const write = this.write(f.type, field)
      if (f.defaultValue() === undefined) return `${read} ${write}`
      // As avsc: an undefined field takes its default, written from bytes encoded once.
      const bytes = this.#const(f.type.toBuffer(f.defaultValue()))
      return `${read} if (${field} === undefined) raw(${bytes}, ${bytes}.length); else { ${write} }`
    })
    this.#writing.delete(t)
    return `if (${v} === null || typeof ${v} !== 'object') decline(); ${steps.join(' ')}`
  }

  /** avsc's unwrapped union: the branch is the one of the value's bucket. */
  #union(branches: Type[], v: string): string {
    if (branches.some((b) => avroLogical(b))) {
      // avsc tries logical branches one by one; with only null beside it (no logical type of ours
      // takes null), a value is either null or the logical branch's.
      const logical = branches.findIndex((b) => b instanceof CanonicalType)
      if (branches.length !== 2 || logical < 0 || branches[1 - logical]!.typeName !== 'null') throw new Unsupported()
      return `if (${v} === null) long(${1 - logical}); else { long(${logical}); ${this.write(branches[logical]!, v)} }`
    }
    const cases = branches.map((b, i) => {
      const bucket = bucketOf(b)
      const test =
        bucket === 'null' ? `${v} === null`
        : bucket === 'buffer' ? `Buffer.isBuffer(${v})`
        : bucket === 'array' ? `Array.isArray(${v})`
        : bucket === 'object' ? `${v} !== null && typeof ${v} === 'object' && !Array.isArray(${v}) && !Buffer.isBuffer(${v})`
        // A bigint is the long branch's (types/avro-types.ts, ExactUnion).
        : bucket === 'number' && b.typeName === 'long' ? `(typeof ${v} === 'number' || typeof ${v} === 'bigint')`
        : `typeof ${v} === ${JSON.stringify(bucket)}`
      return `if (${test}) { long(${i}); ${this.write(b, v)} }`
    })
    return `${cases.join(' else ')} else decline();`
  }
}

const avroLogical = (type: Type): boolean => type.typeName.startsWith('logical:') || type instanceof CanonicalType
