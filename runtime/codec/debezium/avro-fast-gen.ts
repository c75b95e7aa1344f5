/**
 * Code generation for the Debezium Avro fast path (avro-fast.ts): statements that read, convert
 * or skip one value of a writer schema, over the reader functions in READERS. Conversions are
 * those of compileAvro (avro-convert.ts), resolved the same way, so both paths agree on what a
 * field means.
 */
import type { Produces, RowPlan, WriterField } from '../types/conform-plan.ts'
import { kindOfAvro, scaleOf } from './avro-convert.ts'
import { deref, isObject, isPrimitiveName, type AvroObject, type AvroSchema } from './avro-names.ts'
import { converterFor, type SemanticKind } from './semantic.ts'

/** A schema the fast path does not handle: it then gets no fast decoder. */
export class Unsupported extends Error {}

// Readers over the closure's (b, p, end), mirroring the reference (avsc with the exact types of
// types/avro-types.ts) so values come out identical; anything the reference would refuse declines.
// long() is avsc's varint read, exact below 2^52 and used for lengths, indexes and ints;
// exactLong() reads every int64 as values/long.ts's readLong does (a number while safe, else a bigint).
export const READERS = `
    function long() {
      if (b[p] < 0x80) { const c = b[p++]; return (c >> 1) ^ -(c & 1) } // one byte: most lengths, indexes and flags
      let n = 0, k = 0, c, h
      do { c = b[p++]; h = c & 0x80; n |= (c & 0x7f) << k; k += 7 } while (h && k < 28)
      if (!h) return (n >> 1) ^ -(n & 1)
      let f = n, fk = 268435456
      do { c = b[p++]; f += (c & 0x7f) * fk; fk *= 128 } while (c & 0x80)
      return (f % 2 ? -(f + 1) : f) / 2
    }
    function int() { const n = long(); if (!(n >= -2147483648 && n <= 2147483647)) decline(); return n }
    function exactLong() {
      const s = p
      let c = b[p++]
      if (c < 0x80) return (c >> 1) ^ -(c & 1)
      let n = c & 0x7f, k = 7
      do { c = b[p++]; n |= (c & 0x7f) << k; k += 7 } while (c & 0x80 && k < 28)
      if (!(c & 0x80)) return (n >>> 1) ^ -(n & 1)
      // Doubles add exactly while the sum stays below 2^53; past that only bigints are exact.
      let f = n, fk = 268435456
      do { c = b[p++]; f += (c & 0x7f) * fk; fk *= 128 } while (c & 0x80 && fk < 72057594037927936)
      if (!(c & 0x80) && f < 9007199254740992) return (f % 2 ? -(f + 1) : f) / 2
      let z = 0n, shift = 0n
      for (p = s; ; shift += 7n) {
        if (p >= end || shift > 63n) decline()
        c = b[p++]; z |= BigInt(c & 0x7f) << shift
        if (c < 0x80) break
      }
      if (z >> 64n) decline()
      const v = z & 1n ? -(z >> 1n) - 1n : z >> 1n
      return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v
    }
    function len() { const n = long(); if (!(n >= 0 && p + n <= end)) decline(); return n }
    function skipLen() { const n = len(); p += n }
    // An ASCII string is cut from one latin1 decode of the whole body (made on first use): a
    // substring costs a fraction of a native utf8Slice call per field.
    function str() {
      const n = len(), s = p
      p += n
      for (let i = s; i < p; i++) if (b[i] > 127) return utf8(s)
      if (text === undefined) text = b.latin1Slice(base, end)
      return text.substring(s - base, p - base)
    }
    // Invalid UTF-8 declines (the reference names the field); a U+FFFD in the text is the cheap hint.
    function utf8(s) {
      const t = b.utf8Slice(s, p)
      if (t.indexOf('\uFFFD') >= 0 && !isUtf8(b.subarray(s, p))) decline()
      return t
    }
    function fixed(n) { if (p + n > end) decline(); const out = Buffer.allocUnsafe(n); b.copy(out, 0, p, p + n); p += n; return out }
    function bytes() { return fixed(len()) }
    function decimal(n, scale) { if (p + n > end) decline(); const s = p; p += n; return decimalAt(b, s, p, scale) }
    // The uuid converter lowercases; this also insists on the canonical 8-4-4-4-12 form (other
    // text goes the exact way), so readers can take the value without checking it again.
    function uuid(s) {
      if (isUuid(s)) return s
      const lower = s.toLowerCase()
      if (!isUuid(lower)) decline()
      return lower
    }
    function isUuid(s) {
      if (s.length !== 36) return false
      for (let i = 0; i < 36; i++) {
        const c = s.charCodeAt(i)
        if (i === 8 || i === 13 || i === 18 || i === 23 ? c !== 45 : !((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
      }
      return true
    }
    function count(n) { if (n < 0) { long(); n = -n } if (!(n <= end - p + 1024)) decline(); return n }`

const q = (s: string): string => JSON.stringify(s)

export class Generator {
  readonly consts: unknown[] = []
  readonly #named: Map<string, AvroObject>
  readonly #compiling = new Set<string>()
  #vars = 0

  constructor(named: Map<string, AvroObject>) {
    this.#named = named
  }

  const(value: unknown): string {
    this.consts.push(value)
    return `K[${this.consts.length - 1}]`
  }

  tmp(): string {
    return `t${this.#vars++}`
  }

  declarations(): string {
    return Array.from({ length: this.#vars }, (_, i) => `, t${i}`).join('')
  }

  /** The record behind `["null", Row]` (the type of `before` and `after`). */
  rowOf(type: AvroSchema): AvroObject {
    const s = this.#resolve(type)
    const live = Array.isArray(s) ? s.filter((b) => b !== 'null') : [s]
    const row = live.length === 1 ? this.#resolve(live[0]!) : undefined
    if (!isObject(row) || row.type !== 'record' || kindOfAvro(row) !== undefined) throw new Unsupported()
    return row
  }

  /**
   * Reads a `["null", Row]` field into `to`: null, the row as written, or the row as the plan
   * builds it. `local` names the row's zoneless timestamps to read as local (see converterFor).
   */
  rowUnion(type: AvroSchema, to: string, plan?: RowPlan, local?: ReadonlySet<string>): string {
    const s = this.#resolve(type)
    const row = this.rowOf(type)
    if (!Array.isArray(s)) return this.#record(row, to, plan, local)
    const cases = s.map((b, i) => `case ${i}: { ${b === 'null' ? `${to} = null;` : this.#record(row, to, plan, local)} break }`)
    return `switch (long()) { ${cases.join(' ')} default: decline() }`
  }

  describeFields(row: AvroObject, local?: ReadonlySet<string>): WriterField[] {
    return (row.fields as AvroObject[]).map((f) => ({ name: String(f.name), ...this.#describe(f.type as AvroSchema, local?.has(String(f.name)) ?? false) }))
  }

  /** Statements reading one value into `to`, converted like compileAvro converts it. */
  read(type: AvroSchema, to: string, local = false): string {
    const s = this.#resolve(type)
    if (typeof s === 'string') return this.#primitive(s, to)
    if (Array.isArray(s)) {
      const cases = s.map((b, i) => `case ${i}: { ${this.read(b, to, local)} break }`)
      return `switch (long()) { ${cases.join(' ')} default: decline() }`
    }
    const kind = kindOfAvro(s)
    return kind === undefined ? this.#structure(s, to) : this.#semantic(s, kind, to, local)
  }

  /** Statements stepping over one value, like avsc's skip (nothing is checked that avsc does not check). */
  skip(type: AvroSchema): string {
    const s = this.#resolve(type)
    if (typeof s === 'string') {
      if (s === 'null') return ''
      if (s === 'boolean') return 'p++;'
      if (s === 'int' || s === 'long') return 'long();'
      if (s === 'float') return 'p += 4;'
      if (s === 'double') return 'p += 8;'
      if (s === 'string' || s === 'bytes') return 'skipLen();'
      throw new Unsupported()
    }
    if (Array.isArray(s)) return `switch (long()) { ${s.map((b, i) => `case ${i}: { ${this.skip(b)} break }`).join(' ')} default: decline() }`
    switch (s.type) {
      case 'record':
      case 'error':
        return this.#enter(s, () => (s.fields as AvroObject[]).map((f) => this.skip(f.type as AvroSchema)).join(' '))
      case 'enum':
        return 'long();'
      case 'fixed':
        return `p += ${Number(s.size)}; if (p > end) decline();`
      case 'array':
      case 'map': {
        const n = this.tmp()
        const item = `${s.type === 'map' ? 'skipLen(); ' : ''}${this.skip((s.type === 'map' ? s.values : s.items) as AvroSchema)}`
        return `for (${n} = long(); ${n} !== 0; ${n} = long()) { if (${n} < 0) skipLen(); else for (; ${n} > 0; ${n}--) { ${item} } if (p > end) decline() }`
      }
      default:
        return this.skip(s.type as AvroSchema)
    }
  }

  /** Dereferences names and wrappers the way compileAvro does, so both see the same semantics. */
  #resolve(type: AvroSchema): AvroSchema {
    let s = deref(type, this.#named)
    for (;;) {
      if (!isObject(s)) return s
      if (typeof s.type === 'object' && s.type !== null) s = deref(s.type as AvroSchema, this.#named)
      else if (typeof s.type === 'string' && !isPrimitiveName(s.type) && this.#named.has(s.type) && s.type !== s.name) s = this.#named.get(s.type)!
      else return s
    }
  }

  #primitive(name: string, to: string): string {
    switch (name) {
      case 'null':
        return `${to} = null;`
      case 'boolean':
        return `${to} = !!b[p++];`
      case 'int':
        return `${to} = int();`
      case 'long':
        return `${to} = exactLong();`
      case 'float':
        return `${to} = b.readFloatLE(p); p += 4;`
      case 'double':
        return `${to} = b.readDoubleLE(p); p += 8;`
      case 'string':
        return `${to} = str();`
      case 'bytes':
        return `${to} = bytes();`
      default:
        throw new Unsupported()
    }
  }

  #semantic(s: AvroObject, kind: SemanticKind, to: string, local: boolean): string {
    const scale = scaleOf(s)
    if (kind === 'decimal' && scale >= 0 && (s.type === 'bytes' || s.type === 'fixed'))
      return `${to} = decimal(${s.type === 'bytes' ? 'len()' : Number(s.size)}, ${scale});`
    if (kind === 'uuid' && s.type === 'string') return `${to} = uuid(str());`
    const convert = converterFor(kind, scale, local)
    if (convert === undefined) return this.#structure(s, to)
    const raw = this.tmp()
    return `${this.#structure(s, raw)} ${to} = ${this.const(convert)}(${raw});`
  }

  #structure(s: AvroObject, to: string): string {
    switch (s.type) {
      case 'record':
      case 'error':
        return this.#record(s, to)
      case 'enum':
        return `${to} = ${this.const(s.symbols)}[long()]; if (${to} === undefined) decline();`
      case 'fixed':
        return `${to} = fixed(${Number(s.size)});`
      case 'array': {
        const n = this.tmp()
        const item = this.tmp()
        return `${to} = []; for (${n} = long(); ${n} !== 0; ${n} = long()) { for (${n} = count(${n}); ${n} > 0; ${n}--) { ${this.read(s.items as AvroSchema, item)} ${to}.push(${item}) } if (p > end) decline() }`
      }
      case 'map': {
        const n = this.tmp()
        const key = this.tmp()
        const value = this.tmp()
        return `${to} = {}; for (${n} = long(); ${n} !== 0; ${n} = long()) { for (${n} = count(${n}); ${n} > 0; ${n}--) { ${key} = str(); ${this.read(s.values as AvroSchema, value)} ${to}[${key}] = ${value} } if (p > end) decline() }`
      }
      default:
        return this.#primitive(String(s.type), to)
    }
  }

  /** Fields into locals in writer order, then one object literal: the writer's shape, or the plan's. */
  #record(s: AvroObject, to: string, plan?: RowPlan, localTimes?: ReadonlySet<string>): string {
    return this.#enter(s, () => {
      const fields = (s.fields as AvroObject[]).map((f) => ({ name: String(f.name), local: this.tmp(), type: f.type as AvroSchema }))
      const reads = fields.map((f) => this.read(f.type, f.local, localTimes?.has(f.name) ?? false)).join(' ')
      if (plan === undefined) return `${reads} ${to} = { ${fields.map((f) => `${q(f.name)}: ${f.local}`).join(', ')} };`
      const failed = this.const(plan.failed)
      const props = plan.steps.map((step) => {
        if ('value' in step) return `${q(step.name)}: ${this.const(step.value)}()`
        const local = fields[step.from]!.local
        if (step.convert === undefined) return `${q(step.name)}: ${local}`
        return `${q(step.name)}: (x = ${this.const(step.convert)}(${local})) === ${failed} ? decline() : x`
      })
      return `${reads} ${to} = { ${props.join(', ')} };`
    })
  }

  #enter(s: AvroObject, body: () => string): string {
    const name = String(s.name)
    if (this.#compiling.has(name)) throw new Unsupported() // recursive type
    this.#compiling.add(name)
    try {
      return body()
    } finally {
      this.#compiling.delete(name)
    }
  }

  #describe(type: AvroSchema, local: boolean): { nullable: boolean; produces: Produces } {
    const s = this.#resolve(type)
    if (Array.isArray(s)) {
      const live = s.filter((b) => b !== 'null')
      const nullable = live.length < s.length
      if (live.length === 1) return { nullable, produces: this.#describe(live[0]!, local).produces }
      return { nullable, produces: { kind: live.length === 0 ? 'null' : 'other' } }
    }
    const p = produces(s)
    // A zoneless timestamp read as local: its text has no 'Z'.
    return { nullable: s === 'null', produces: local && p.kind === 'text' && p.family === 'timestamp' ? { ...p, family: 'local-timestamp' } : p }
  }
}

const textKinds: Partial<Record<SemanticKind, Produces>> = {
  date: { kind: 'text', family: 'date' },
  'time-ms': { kind: 'text', family: 'time', digits: 3 },
  'time-us': { kind: 'text', family: 'time', digits: 6 },
  'ts-ms': { kind: 'text', family: 'timestamp', digits: 3 },
  'ts-us': { kind: 'text', family: 'timestamp', digits: 6 },
  'local-ts-ms': { kind: 'text', family: 'local-timestamp', digits: 3 },
  'local-ts-us': { kind: 'text', family: 'local-timestamp', digits: 6 },
  uuid: { kind: 'text', family: 'uuid' },
}

/** What the reading code above yields for a resolved, non-union schema. */
function produces(s: AvroSchema): Produces {
  if (typeof s === 'string') {
    const byName: Record<string, Exclude<Produces['kind'], 'text'>> = { null: 'null', boolean: 'boolean', int: 'int', long: 'long', float: 'float', double: 'double', string: 'string', bytes: 'bytes' }
    return { kind: byName[s] ?? 'other' }
  }
  if (!isObject(s)) return { kind: 'other' }
  const kind = kindOfAvro(s)
  if (kind !== undefined && kind !== 'as-is') {
    if (kind === 'decimal') return scaleOf(s) >= 0 ? { kind: 'text', family: 'decimal', scale: scaleOf(s) } : { kind: 'string' }
    if (kind === 'uuid' && s.type !== 'string') return { kind: 'string' }
    if (kind === 'duration-us') return { kind: 'long' }
    return textKinds[kind] ?? { kind: 'string' } // variable-decimal, json: strings
  }
  if (s.type === 'enum') return { kind: 'string' }
  if (s.type === 'fixed') return { kind: 'bytes' }
  return typeof s.type === 'string' && isPrimitiveName(s.type) ? produces(s.type) : { kind: 'other' }
}
