import type { Type } from 'avsc'
import { TributaryError, type ErrorCode } from '../../errors.ts'
import { toInt64 } from '../values/long.ts'
import { isWellFormed } from '../values/utf8.ts'
import { formatPath, kindOf, typeLabel } from './describe.ts'
import { CanonicalType } from './logical-types.ts'

/**
 * Shapes a JSON-origin record exactly like an Avro record type, with reader semantics: a missing
 * field takes its default (an error without one), extra fields are dropped, numbers are checked
 * against int/long/float/double (a long is a safe integer or a bigint, narrowed to a number when
 * safe; a float is rounded to 32 bits; "NaN", "Infinity" and "-Infinity" are the JSON form of those
 * floats), a union takes the first branch that fits, logical types take canonical strings
 * (normalized, e.g. '…T10:00:00.5Z' becomes '…T10:00:00.500Z'), bytes and fixed take a Buffer or a
 * base64 string (how Kafka Connect's JSON converter writes bytes), an enum symbol not in the type
 * takes the enum's default when it has one. A string (or map key) with a lone surrogate, which is
 * what invalid UTF-8 decodes to (values/utf8.ts), fails with TRIB_DECODE_UTF8.
 *
 * Types must come from createType (unwrapped unions). A conformer is compiled once per type into a
 * tree of closures; conforming a record walks values, never the schema.
 */

export type Conformer = (value: unknown) => unknown

// A failed node returns FAIL and leaves the reason in its tree's Failure; parents add their path
// segment on the way out, so a success costs no path bookkeeping.
const FAIL = Symbol('conform.fail')
type Node = (value: unknown) => unknown

class Failure {
  path: (string | number)[] = []
  message = ''
  code: ErrorCode = 'TRIB_VALIDATE_TYPE'

  fail(message: string, code: ErrorCode = 'TRIB_VALIDATE_TYPE'): typeof FAIL {
    this.path = []
    this.message = message
    this.code = code
    return FAIL
  }

  mismatch(type: Type, value: unknown): typeof FAIL {
    if (typeof value === 'string' && !isWellFormed(value)) return this.fail('string is not valid UTF-8', 'TRIB_DECODE_UTF8')
    return this.fail(`expected ${typeLabel(type)}, got ${kindOf(value)}`)
  }

  at(segment: string | number): typeof FAIL {
    this.path.push(segment)
    return FAIL
  }
}

/** Conforms `value` to `type`; throws TRIB_VALIDATE_TYPE (or TRIB_DECODE_UTF8) naming the field path. */
export const conform = (type: Type, value: unknown): unknown => compileConformer(type)(value)

/**
 * The bare conform node of `type`, for compiled readers that conform field by field: it returns
 * the conformed value or CONFORM_FAIL, and leaves the reason unreported (callers that fail then
 * conform again with a conformer, which names the path).
 */
export function conformNode(type: Type): (value: unknown) => unknown {
  return compile(type, new Map(), new Failure())
}

export { FAIL as CONFORM_FAIL }

/** A reusable conformer for `type`. */
export function compileConformer(type: Type): Conformer {
  const failure = new Failure()
  const node = compile(type, new Map(), failure)
  return (value) => {
    const out = node(value)
    if (out !== FAIL) return out
    const path = formatPath(failure.path.reverse())
    const where = path === '' ? 'value' : path
    throw new TributaryError(failure.code, `${where}: ${failure.message}`, { details: { path: where, field: where, type: type.name ?? type.typeName } })
  }
}

/** avsc's runtime shape of a type, which its typings leave out. */
export type AnyType = Type & {
  fields?: { name: string; type: Type; defaultValue(): unknown }[]
  types?: Type[]
  symbols?: string[]
  size?: number
  itemsType?: Type
  valuesType?: Type
  underlyingType?: Type
}

const FLOAT_WORDS: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY }

/** A float or double from JSON: a number, a bigint (rounded to the nearest double, as parsing its digits would), or one of the words. */
const toDouble = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? FLOAT_WORDS[v] : undefined

function compile(type: Type, records: Map<Type, Node>, f: Failure): Node {
  const t = type as AnyType
  if (type instanceof CanonicalType) return logical(type, f)
  switch (type.typeName) {
    case 'null':
      return (v) => (v === null ? v : f.mismatch(type, v))
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : f.mismatch(type, v))
    case 'int':
      return (v) => (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff ? v : f.mismatch(type, v))
    case 'long':
      return (v) => toInt64(v) ?? f.mismatch(type, v)
    case 'float':
      return (v) => {
        const d = toDouble(v)
        return d === undefined ? f.mismatch(type, v) : Math.fround(d)
      }
    case 'double':
      return (v) => toDouble(v) ?? f.mismatch(type, v)
    case 'string':
      return (v) => (typeof v === 'string' && isWellFormed(v) ? v : f.mismatch(type, v))
    case 'bytes':
      return (v) => toBytes(v) ?? f.mismatch(type, v)
    case 'fixed': {
      const size = t.size as number
      return (v) => {
        const b = toBytes(v)
        return b && b.length === size ? b : b ? f.fail(`expected fixed(${size}) bytes, got ${b.length} bytes`) : f.mismatch(type, v)
      }
    }
    case 'enum':
      return enumNode(type, t.symbols as string[], (type as unknown as { default?: string }).default, f)
    case 'array':
      return arrayNode(compile(t.itemsType as Type, records, f), type, f)
    case 'map':
      return mapNode(compile(t.valuesType as Type, records, f), type, f)
    case 'record':
    case 'error':
      return recordNode(t, records, f)
    case 'union:unwrapped':
    case 'union:wrapped':
      return unionNode(type, t.types as Type[], records, f)
    default:
      // A logical type not of ours: conform to what it is made of.
      if (t.underlyingType) return compile(t.underlyingType, records, f)
      throw new TributaryError('TRIB_SCHEMA_INVALID', `conform: unsupported Avro type ${type.typeName}`)
  }
}

function logical(type: CanonicalType, f: Failure): Node {
  return (v) => (typeof v === 'string' && isWellFormed(v) ? (type.normalize(v) ?? f.fail(`expected ${type.describe()}, got a string that is not one`)) : f.mismatch(type, v))
}

function toBytes(v: unknown): Buffer | undefined {
  if (Buffer.isBuffer(v)) return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0) return Buffer.from(v, 'base64')
  return undefined
}

function enumNode(type: Type, symbols: string[], fallback: string | undefined, f: Failure): Node {
  const known = new Set(symbols)
  return (v) => {
    if (typeof v !== 'string' || !isWellFormed(v)) return f.mismatch(type, v)
    if (known.has(v)) return v
    return fallback ?? f.fail(`expected ${typeLabel(type)}, got a string that is not a symbol`)
  }
}

function arrayNode(items: Node, type: Type, f: Failure): Node {
  return (v) => {
    if (!Array.isArray(v)) return f.mismatch(type, v)
    const out = new Array<unknown>(v.length)
    for (let i = 0; i < v.length; i++) {
      const r = items(v[i])
      if (r === FAIL) return f.at(i)
      out[i] = r
    }
    return out
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date)

function mapNode(values: Node, type: Type, f: Failure): Node {
  return (v) => {
    if (!isObject(v)) return f.mismatch(type, v)
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(v)) {
      if (!isWellFormed(key)) return f.fail('map key is not valid UTF-8', 'TRIB_DECODE_UTF8')
      const r = values(v[key])
      if (r === FAIL) return f.at(key)
      out[key] = r
    }
    return out
  }
}

function recordNode(t: AnyType, records: Map<Type, Node>, f: Failure): Node {
  const seen = records.get(t)
  if (seen) return seen
  // Registered before its fields compile, so a recursive reference finds it.
  let body: Node = () => FAIL
  const node: Node = (v) => body(v)
  records.set(t, node)
  const fields = (t.fields ?? []).map((field) => ({
    name: field.name,
    node: compile(field.type, records, f),
    defaultValue: field.defaultValue() === undefined ? undefined : () => field.defaultValue(),
  }))
  body = recordBody(t, fields, f)
  return node
}

type Kind = 'null' | 'boolean' | 'number' | 'bigint' | 'string' | 'bytes' | 'array' | 'object'

// The JS kinds a branch can take, to skip branches that cannot fit and to report the right error.
function kindsOf(type: Type): Kind[] {
  if (type instanceof CanonicalType) return ['string']
  switch (type.typeName) {
    case 'null':
      return ['null']
    case 'boolean':
      return ['boolean']
    case 'int':
      return ['number']
    case 'long':
      return ['number', 'bigint']
    case 'float':
    case 'double':
      return ['number', 'bigint', 'string']
    case 'string':
    case 'enum':
      return ['string']
    case 'bytes':
    case 'fixed':
      return ['bytes', 'string']
    case 'array':
      return ['array']
    case 'map':
    case 'record':
    case 'error':
      return ['object']
    default: {
      const u = (type as AnyType).underlyingType
      return u ? kindsOf(u) : []
    }
  }
}

function jsKind(v: unknown): Kind | undefined {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'boolean':
      return 'boolean'
    case 'number':
      return 'number'
    case 'bigint':
      return 'bigint'
    case 'string':
      return 'string'
    case 'object':
      if (Array.isArray(v)) return 'array'
      if (v instanceof Uint8Array) return 'bytes'
      return v instanceof Date ? undefined : 'object'
    default:
      return undefined
  }
}

function unionNode(type: Type, branches: Type[], records: Map<Type, Node>, f: Failure): Node {
  const compiledBranches = branches.map((b) => ({ node: compile(b, records, f), kinds: new Set(kindsOf(b)) }))
  const byKind = new Map<Kind | undefined, Node[]>()
  for (const kind of ['null', 'boolean', 'number', 'bigint', 'string', 'bytes', 'array', 'object'] as const) {
    byKind.set(kind, compiledBranches.filter((b) => b.kinds.has(kind)).map((b) => b.node))
  }
  return (v) => {
    const candidates = byKind.get(jsKind(v)) ?? []
    for (const candidate of candidates) {
      const r = candidate(v)
      if (r !== FAIL) return r
    }
    // With one candidate its own (deeper) reason is the useful one.
    return candidates.length === 1 ? FAIL : f.mismatch(type, v)
  }
}

/**
 * The conformer of one record type as a generated function building one object literal: every
 * output row then shares a hidden class, and no loop over field names runs per record.
 */
function recordBody(t: AnyType, fields: Array<{ name: string; node: Node; defaultValue: (() => unknown) | undefined }>, f: Failure): Node {
  const steps = fields.map((f, i) => {
    const key = JSON.stringify(f.name)
    const missing = f.defaultValue ? `r${i} = f[${i}].defaultValue()` : `return missing(${key})`
    return `x = v[${key}]; if (x === undefined) { ${missing} } else { r${i} = f[${i}].node(x); if (r${i} === FAIL) return at(${key}) }`
  })
  const vars = fields.map((_, i) => `r${i}`).join(', ')
  const literal = fields.map((f, i) => `${JSON.stringify(f.name)}: r${i}`).join(', ')
  const missing = (name: string): typeof FAIL => {
    f.fail('required field is missing (it has no default)')
    return f.at(name)
  }
  const at = (name: string): typeof FAIL => f.at(name)
  const notObject = (v: unknown): typeof FAIL => f.mismatch(t, v)
  // eslint-disable-next-line no-new-func -- generated from field names, JSON-quoted.
  return new Function(
    'f', 'FAIL', 'isObject', 'notObject', 'missing', 'at',
    `return function conformRecord(v) { if (!isObject(v)) return notObject(v); let x${vars ? `, ${vars}` : ''}; ${steps.join('; ')}; return { ${literal} } }`,
  )(fields, FAIL, isObject, notObject, missing, at) as Node
}
