/**
 * Compiles an Avro schema (as Debezium's AvroConverter writes it) into a converter from avsc's
 * decoded value to the canonical value. Compiled once per schema: a closure per field that needs
 * work, `undefined` (identity) for any sub-tree that needs none, so a table without semantic types
 * costs nothing per record.
 *
 * Semantics come from `connect.name` (+ `connect.parameters.scale`); a plain Avro `logicalType` is
 * honoured only when there is no `connect.name`. The decoded value must come from a type built
 * without avsc logical types (see createEnvelopeType), so every such field arrives raw here.
 */
import { TributaryError } from '../../errors.ts'
import { leaf } from './types.ts'
import { converterFor, kindOfConnectName, kindOfLogicalType, type Convert, type SemanticKind } from './semantic.ts'
import { deref, isObject, isPrimitiveName, type AvroObject, type AvroSchema } from './avro-names.ts'

/** The semantic kind of a (dereferenced) schema, if any. */
export function kindOfAvro(s: AvroSchema): SemanticKind | undefined {
  if (!isObject(s)) return undefined
  return kindOfConnectName(s['connect.name']) ?? (s['connect.name'] === undefined ? kindOfLogicalType(s.logicalType) : undefined)
}

/** A decimal's scale: Connect's `connect.parameters.scale`, else the Avro attribute. */
export function scaleOf(s: AvroObject): number {
  const params = s['connect.parameters']
  const fromParams = isObject(params) ? Number(params.scale) : NaN
  if (Number.isInteger(fromParams)) return fromParams
  return typeof s.scale === 'number' ? s.scale : 0
}

/**
 * `schema` must come from `qualify` (full names everywhere) and `named` from the same call.
 * Null values never reach a returned converter: containers skip nulls themselves. `local` names
 * the top-level fields whose zoneless timestamps read as local date-times (see converterFor).
 */
export function compileAvro(schema: AvroSchema, named: Map<string, AvroObject>, path: string, local?: ReadonlySet<string>): Convert | undefined {
  const compiling = new Set<string>()
  const top = `${path}.`
  const isLocal = (at: string): boolean => local !== undefined && at.startsWith(top) && local.has(at.slice(top.length))

  const compile = (raw: AvroSchema, at: string): Convert | undefined => {
    const s = deref(raw, named)
    if (typeof s === 'string') return undefined // primitive: avsc already gives the canonical value
    if (Array.isArray(s)) return union(s, at)
    if (typeof s.type === 'object' && s.type !== null) return compile(s.type as AvroSchema, at)
    if (typeof s.type === 'string' && !isPrimitiveName(s.type) && named.has(s.type) && s.type !== s.name) {
      return compile(s.type, at) // {"type": "some.Named"}
    }
    const kind = kindOfAvro(s)
    if (kind !== undefined) {
      const c = converterFor(kind, scaleOf(s), isLocal(at))
      return c === undefined ? undefined : leaf(c, at)
    }
    switch (s.type) {
      case 'record':
      case 'error':
        return record(s, at)
      case 'array': {
        const item = compile(s.items as AvroSchema, `${at}[]`)
        return item === undefined ? undefined : (v) => (v as unknown[]).map((x) => (x == null ? x : item(x)))
      }
      case 'map': {
        const value = compile(s.values as AvroSchema, `${at}{}`)
        if (value === undefined) return undefined
        return (v) => {
          const out: Record<string, unknown> = {}
          for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = x == null ? x : value(x)
          return out
        }
      }
      default:
        return undefined // enum, fixed, primitives
    }
  }

  const union = (branches: AvroSchema[], at: string): Convert | undefined => {
    const live = branches.filter((b) => b !== 'null')
    if (live.length === 1) return compile(live[0]!, at)
    const converters = live.map((b) => compile(b, at))
    if (converters.every((c) => c === undefined)) return undefined
    // Debezium only writes ["null", T] unions; a value of an unwrapped multi-branch union cannot be
    // matched to its branch reliably, so refuse rather than guess.
    throw new TributaryError(
      'TRIB_DECODE_ENVELOPE',
      `Avro writer schema: field ${at} is a union of several non-null branches with semantic types, which Debezium never writes`,
      { details: { field: at } },
    )
  }

  const record = (s: AvroObject, at: string): Convert | undefined => {
    const name = String(s.name)
    if (compiling.has(name)) return undefined // recursive type: inner levels pass through unconverted
    compiling.add(name)
    const fields = (s.fields as AvroObject[]).map((f) => {
      const fieldName = String(f.name)
      return { name: fieldName, convert: compile(f.type as AvroSchema, at === '' ? fieldName : `${at}.${fieldName}`) }
    })
    compiling.delete(name)
    if (fields.every((f) => f.convert === undefined)) return undefined
    return recordConverter(fields)
  }

  return compile(schema, path)
}

/**
 * One object literal per record, generated once per schema: V8 then builds every row with the same
 * hidden class and no per-field branching, which makes conversion several times faster than a loop
 * over field names.
 */
function recordConverter(fields: Array<{ name: string; convert: Convert | undefined }>): Convert {
  const converts = fields.map((f) => f.convert)
  const props = fields.map((f, i) => {
    const key = JSON.stringify(f.name)
    return f.convert === undefined ? `${key}: v[${key}]` : `${key}: (x = v[${key}]) == null ? x : c[${i}](x)`
  })
  // eslint-disable-next-line no-new-func -- generated from field names, JSON-quoted.
  return new Function('c', `return function convertRecord(v) { let x; return { ${props.join(', ')} } }`)(converts) as Convert
}
