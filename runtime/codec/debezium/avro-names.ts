/**
 * Avro name resolution for envelope schemas. Debezium's envelope defines the table's `Value` record
 * inside `before` and refers to it by bare name in `after`, and a second VariableScaleDecimal column
 * refers to the first by name. `qualify` rewrites a schema so every definition and reference uses
 * its full name (no `namespace` attributes left), which lets any sub-schema be lifted out and
 * lets compilers look references up in one map.
 */
import { TributaryError } from '../../errors.ts'

export type AvroSchema = string | AvroSchema[] | { [attr: string]: unknown }
export type AvroObject = { [attr: string]: unknown }

const primitives = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'])
const namedTypes = new Set(['record', 'error', 'enum', 'fixed'])

export const isPrimitiveName = (name: string): boolean => primitives.has(name)
export const isObject = (s: unknown): s is AvroObject => typeof s === 'object' && s !== null && !Array.isArray(s)

export interface Qualified {
  schema: AvroSchema
  /** Full name -> the (qualified) definition. */
  named: Map<string, AvroObject>
}

function fullName(name: string, namespace: string | undefined): string {
  if (name.includes('.') || !namespace) return name
  return `${namespace}.${name}`
}

const namespaceOf = (full: string): string | undefined => {
  const dot = full.lastIndexOf('.')
  return dot < 0 ? undefined : full.slice(0, dot)
}

/** A deep copy with fully qualified names; the input is not modified. */
export function qualify(schema: AvroSchema): Qualified {
  const named = new Map<string, AvroObject>()

  const ref = (name: string, ns: string | undefined): string => {
    if (primitives.has(name)) return name
    const candidate = fullName(name, ns)
    if (named.has(candidate)) return candidate
    if (named.has(name)) return name // a reference to a type declared in the null namespace
    throw new TributaryError('TRIB_DECODE_ENVELOPE', `Avro writer schema refers to undefined type name ${name}`)
  }

  const walk = (s: AvroSchema, ns: string | undefined): AvroSchema => {
    if (typeof s === 'string') return ref(s, ns)
    if (Array.isArray(s)) return s.map((branch) => walk(branch, ns))
    const type = s.type
    if (typeof type !== 'string' || !namedTypes.has(type)) {
      const out: AvroObject = { ...s }
      if (typeof type === 'object' && type !== null) out.type = walk(type as AvroSchema, ns)
      else if (typeof type === 'string' && !primitives.has(type) && type !== 'array' && type !== 'map') out.type = ref(type, ns)
      if (type === 'array') out.items = walk(s.items as AvroSchema, ns)
      if (type === 'map') out.values = walk(s.values as AvroSchema, ns)
      return out
    }
    const { namespace, ...rest } = s
    const full = fullName(String(s.name), typeof namespace === 'string' ? namespace : ns)
    const out: AvroObject = { ...rest, name: full }
    named.set(full, out) // before the fields, so recursive references resolve
    if (Array.isArray(s.fields)) {
      const inner = namespaceOf(full)
      out.fields = (s.fields as AvroObject[]).map((f) => ({ ...f, type: walk(f.type as AvroSchema, inner) }))
    }
    return out
  }

  return { schema: walk(schema, undefined), named }
}

/** The definition behind a reference, or the schema itself. */
export function deref(s: AvroSchema, named: Map<string, AvroObject>): AvroSchema {
  if (typeof s === 'string' && !primitives.has(s)) return named.get(s) ?? s
  return s
}

/**
 * A self-contained copy of a qualified sub-schema: the first use of a named type defined outside
 * it is replaced by that definition, so the result parses on its own.
 */
export function standalone(s: AvroSchema, named: Map<string, AvroObject>): AvroSchema {
  const defined = new Set<string>()
  const walk = (x: AvroSchema): AvroSchema => {
    if (typeof x === 'string') {
      if (primitives.has(x) || defined.has(x)) return x
      const def = named.get(x)
      return def === undefined ? x : walk(def)
    }
    if (Array.isArray(x)) return x.map(walk)
    const out: AvroObject = { ...x }
    if (typeof x.type === 'string' && namedTypes.has(x.type)) defined.add(String(x.name))
    if (typeof x.type === 'object' && x.type !== null) out.type = walk(x.type as AvroSchema)
    else if (typeof x.type === 'string' && !primitives.has(x.type) && named.has(x.type)) out.type = walk(x.type)
    if (Array.isArray(x.fields)) out.fields = (x.fields as AvroObject[]).map((f) => ({ ...f, type: walk(f.type as AvroSchema) }))
    if (x.type === 'array') out.items = walk(x.items as AvroSchema)
    if (x.type === 'map') out.values = walk(x.values as AvroSchema)
    return out
  }
  return walk(s)
}
