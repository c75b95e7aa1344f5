/**
 * Compiles a Kafka Connect JSON schema (the `schema` half of a `{schema, payload}` message written
 * by JsonConverter with schemas.enable=true) into a converter from the JSON payload to canonical
 * values. Bytes arrive base64-encoded, Decimals as base64 two's-complement bytes, int64 beyond
 * 2^53 as bigints (json/exact.ts), float NaN and infinities as the strings Jackson writes for
 * them ("NaN", "Infinity", "-Infinity"), float32 as the decimal text of the float.
 */
import { FieldError, leaf } from './types.ts'
import { bigintFromTwosComplement, converterFor, formatUnscaled, kindOfConnectName, type Convert } from './semantic.ts'

export interface ConnectSchema {
  type: string
  optional?: boolean
  name?: string
  version?: number
  parameters?: Record<string, string>
  doc?: string
  default?: unknown
  field?: string
  fields?: ConnectSchema[]
  items?: ConnectSchema
  keys?: ConnectSchema
  values?: ConnectSchema
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function fromBase64(v: unknown): Buffer {
  if (typeof v !== 'string') throw new Error(`expected base64 bytes, got ${typeof v}`)
  return Buffer.from(v, 'base64')
}

const FLOAT_WORDS: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY }

const float =
  (bits: 32 | 64): Convert =>
  (v) => {
    const n = typeof v === 'string' ? FLOAT_WORDS[v] : v
    if (typeof n !== 'number') throw new Error(`expected a number (or "NaN", "Infinity", "-Infinity"), got ${typeof v}`)
    // The text Jackson wrote is the float's shortest decimal form: its nearest float is the float.
    return bits === 32 ? Math.fround(n) : n
  }

/**
 * undefined means identity. Null values never reach a returned converter. `local` names the
 * top-level fields whose zoneless timestamps read as local date-times (see converterFor).
 */
export function compileConnect(schema: unknown, path: string, local?: ReadonlySet<string>): Convert | undefined {
  if (!isObj(schema) || typeof schema.type !== 'string') throw new FieldError(path, 'schema has no `type`')
  const s = schema as unknown as ConnectSchema
  const kind = kindOfConnectName(s.name)

  if (kind === 'variable-decimal') {
    return leaf((v) => {
      if (!isObj(v)) throw new Error('expected {scale, value}')
      const scale = v.scale
      if (typeof scale !== 'number' || !Number.isInteger(scale)) throw new Error('`scale` is not an integer')
      return formatUnscaled(bigintFromTwosComplement(fromBase64(v.value)), scale)
    }, path)
  }
  if (kind === 'decimal') {
    const scale = Number(s.parameters?.scale ?? 0)
    const decimal = converterFor('decimal', scale)!
    return leaf((v) => decimal(fromBase64(v)), path)
  }
  if (kind !== undefined) {
    const c = converterFor(kind, 0, local?.has(path.slice(path.indexOf('.') + 1)) ?? false)
    if (c === undefined) return undefined
    return leaf(c, path)
  }

  switch (s.type) {
    case 'bytes':
      return leaf(fromBase64, path)
    case 'float32':
    case 'float64':
      return leaf(float(s.type === 'float32' ? 32 : 64), path)
    case 'struct':
      return struct(s, path, local)
    case 'array': {
      const item = compileConnect(s.items, `${path}[]`)
      if (item === undefined) return undefined
      return leaf((v) => {
        if (!Array.isArray(v)) throw new Error('expected an array')
        return v.map((x) => (x == null ? x : item(x)))
      }, path)
    }
    case 'map':
      return map(s, path)
    default:
      return undefined // int8..int64, boolean, string: JSON already holds the canonical value
  }
}

function struct(s: ConnectSchema, path: string, local: ReadonlySet<string> | undefined): Convert | undefined {
  const fields: Array<[string, Convert]> = []
  for (const f of s.fields ?? []) {
    if (typeof f.field !== 'string') throw new FieldError(path, 'struct field without a `field` name')
    const c = compileConnect(f, path === '' ? f.field : `${path}.${f.field}`, path.includes('.') ? undefined : local)
    if (c !== undefined) fields.push([f.field, c])
  }
  if (fields.length === 0) return undefined
  return (v) => {
    if (!isObj(v)) throw new FieldError(path, 'expected an object')
    const out: Record<string, unknown> = { ...v } // fields the schema does not list are kept as given
    for (const [name, c] of fields) {
      const x = out[name]
      if (x != null) out[name] = c(x)
    }
    return out
  }
}

/** JsonConverter writes string-keyed maps as objects and other maps as [[key, value], ...]. */
function map(s: ConnectSchema, path: string): Convert | undefined {
  const key = compileConnect(s.keys, `${path}{key}`)
  const value = compileConnect(s.values, `${path}{}`)
  return leaf((v) => {
    const out: Record<string, unknown> = {}
    if (Array.isArray(v)) {
      for (const pair of v) {
        if (!Array.isArray(pair) || pair.length !== 2) throw new Error('expected [key, value] pairs')
        const k = key === undefined || pair[0] == null ? pair[0] : key(pair[0])
        out[String(k)] = value === undefined || pair[1] == null ? pair[1] : value(pair[1])
      }
      return out
    }
    if (!isObj(v)) throw new Error('expected an object or [key, value] pairs')
    if (value === undefined) return v
    for (const [k, x] of Object.entries(v)) out[k] = x == null ? x : value(x)
    return out
  }, path)
}
