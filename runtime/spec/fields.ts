/** Navigating Avro record schemas (as JSON) by dotted field path. */

type AvroJson = string | unknown[] | { type?: unknown; fields?: unknown; name?: unknown; items?: unknown; values?: unknown }

export interface AvroField {
  name: string
  type: AvroJson
  default?: unknown
  doc?: string
}

/** The record fields of a schema, looking through a nullable union; [] when it is not a record. */
export function recordFields(schema: AvroJson): AvroField[] {
  const s = unwrapNullable(schema)
  if (s && typeof s === 'object' && !Array.isArray(s) && Array.isArray(s.fields)) return s.fields as AvroField[]
  return []
}

/** The field at a dotted path (`address.city`), or undefined. */
export function fieldAt(schema: AvroJson, path: string): AvroField | undefined {
  let current: AvroJson = schema
  let found: AvroField | undefined
  for (const name of path.split('.')) {
    found = recordFields(current).find((f) => f.name === name)
    if (!found) return undefined
    current = found.type
  }
  return found
}

/** `["null", X]` → X; anything else unchanged. */
export function unwrapNullable(schema: AvroJson): AvroJson {
  if (Array.isArray(schema)) {
    const rest = schema.filter((t) => t !== 'null')
    return rest.length === 1 ? (rest[0] as AvroJson) : schema
  }
  return schema
}

export const isNullable = (schema: AvroJson): boolean => Array.isArray(schema) && schema.includes('null')

/** A fast accessor for a dotted path. */
export function getter(path: string): (record: Record<string, unknown>) => unknown {
  const parts = path.split('.')
  if (parts.length === 1) return (r) => r[path]
  return (r) => {
    let cur: unknown = r
    for (const p of parts) {
      if (cur === null || typeof cur !== 'object') return undefined
      cur = (cur as Record<string, unknown>)[p]
    }
    return cur
  }
}
