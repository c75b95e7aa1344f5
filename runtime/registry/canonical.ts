import avro from 'avsc'
import { TributaryError, messageOf } from '../errors.ts'

/**
 * Schema identity. Two registrations are the same schema when their canonical texts are equal; the
 * registry stores that text, hands it out by id and compares it. Unlike Avro's Parsing Canonical
 * Form it keeps everything a reader or a tool may depend on (doc, defaults, aliases, order,
 * logicalType and its parameters, custom attributes such as Debezium's `connect.name`), as
 * Confluent compares the full schema text. It only removes what cannot change meaning: whitespace,
 * key order, `namespace` (folded into full names, so references are full names too) and
 * `{"type":"int"}` wrappers around bare primitives.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'])

// Known attributes come first, in this order; any other attribute follows, sorted by key.
const TYPE_KEYS = ['type', 'name', 'doc', 'aliases', 'symbols', 'default', 'size', 'items', 'values', 'fields']
const FIELD_KEYS = ['name', 'type', 'doc', 'default', 'order', 'aliases']

/** The JSON value of a schema given as text or as an object; throws TRIB_REGISTRY_INVALID_SCHEMA. */
export function parseSchemaJson(schema: string | object): Json {
  if (typeof schema !== 'string') return schema as Json
  try {
    return JSON.parse(schema) as Json
  } catch (e) {
    throw new TributaryError('TRIB_REGISTRY_INVALID_SCHEMA', `schema is not valid JSON: ${messageOf(e)}`, { cause: e })
  }
}

/**
 * Validates an Avro schema (names required, defaults checked, as Confluent's parser does) and
 * returns its canonical text. Throws TRIB_REGISTRY_INVALID_SCHEMA naming the problem.
 */
export function canonicalSchema(schema: string | object): string {
  const json = parseSchemaJson(schema)
  try {
    // wrapUnions: true accepts every valid union; the in-memory representation is not at stake here.
    avro.Type.forSchema(json as never, { noAnonymousTypes: true, wrapUnions: true })
  } catch (e) {
    throw new TributaryError('TRIB_REGISTRY_INVALID_SCHEMA', `invalid Avro schema: ${messageOf(e)}`, { cause: e })
  }
  return JSON.stringify(canonicalJson(json))
}

/** The canonical JSON tree of a schema already known to be valid. */
export function canonicalJson(schema: Json): Json {
  return walk(schema, '')
}

function walk(node: Json, ns: string): Json {
  if (typeof node === 'string') return resolveRef(node, ns)
  if (Array.isArray(node)) return node.map((branch) => walk(branch, ns))
  if (node === null || typeof node !== 'object') return node
  const type = node.type
  if (type === undefined) return sortDeep(node)
  if (typeof type !== 'string') return walk(type, ns)
  switch (type) {
    case 'record':
    case 'error':
    case 'enum':
    case 'fixed':
      return walkNamed(node, type, ns)
    case 'array':
      return assemble(node, TYPE_KEYS, { type, items: walk(node.items ?? null, ns) }, ['namespace'])
    case 'map':
      return assemble(node, TYPE_KEYS, { type, values: walk(node.values ?? null, ns) }, ['namespace'])
    default:
      if (PRIMITIVES.has(type)) {
        const extra = Object.keys(node).filter((k) => k !== 'type')
        return extra.length === 0 ? type : assemble(node, TYPE_KEYS, { type }, [])
      }
      // `{"type": "com.example.Named"}` is a reference.
      return resolveRef(type, ns)
  }
}

function walkNamed(node: JsonObject, type: string, ns: string): Json {
  const declaredNs = typeof node.namespace === 'string' ? node.namespace : ns
  const fullName = qualify(String(node.name), declaredNs)
  const ownNs = namespaceOf(fullName)
  const known: JsonObject = { type, name: fullName }
  if (Array.isArray(node.aliases)) known.aliases = node.aliases.map((a) => qualify(String(a), ownNs))
  if (type === 'record' || type === 'error') {
    const fields = Array.isArray(node.fields) ? node.fields : []
    known.fields = fields.map((field) => walkField(field as JsonObject, ownNs))
  }
  return assemble(node, TYPE_KEYS, known, ['namespace'])
}

function walkField(field: JsonObject, ns: string): Json {
  const known: JsonObject = { name: field.name ?? null, type: walk(field.type ?? null, ns) }
  // "ascending" is the default order; writing it or not is the same schema.
  const dropped = field.order === 'ascending' ? ['order'] : []
  return assemble(field, FIELD_KEYS, known, dropped)
}

/** Copies `node` with `known` overrides, known keys in `order`, the rest sorted. */
function assemble(node: JsonObject, order: string[], known: JsonObject, dropped: string[]): JsonObject {
  const out: JsonObject = {}
  for (const key of order) {
    if (key in known) out[key] = known[key] as Json
    else if (key in node && !dropped.includes(key)) out[key] = sortDeep(node[key] as Json)
  }
  for (const key of Object.keys(node).sort()) {
    if (key in out || order.includes(key) || dropped.includes(key)) continue
    out[key] = sortDeep(node[key] as Json)
  }
  return out
}

function sortDeep(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortDeep)
  if (value === null || typeof value !== 'object') return value
  const out: JsonObject = {}
  for (const key of Object.keys(value).sort()) out[key] = sortDeep(value[key] as Json)
  return out
}

// A short name refers to the enclosing namespace (avsc, which validates first, does not fall back
// to the null namespace as Java does).
const resolveRef = (name: string, ns: string): string => (PRIMITIVES.has(name) ? name : qualify(name, ns))

const qualify = (name: string, ns: string): string => (name.includes('.') || ns === '' ? name : `${ns}.${name}`)

const namespaceOf = (fullName: string): string => {
  const dot = fullName.lastIndexOf('.')
  return dot < 0 ? '' : fullName.slice(0, dot)
}
