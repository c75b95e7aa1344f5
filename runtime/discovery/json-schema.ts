
/**
 * An Avro schema rendered as JSON Schema (draft 2020-12) of the canonical JSON values Tributary
 * hands out (HTTP subscriptions, `tail --format json`): logical types as formatted strings, bytes as
 * base64, unions as anyOf, records as closed objects.
 */
export function avroToJsonSchema(schema: unknown): Record<string, unknown> {
  const named = new Map<string, Record<string, unknown>>()
  const root = convert(schema, named, undefined)
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', ...root }
}

const logicalFormats: Record<string, Record<string, unknown>> = {
  date: { type: 'string', format: 'date' },
  'time-millis': { type: 'string', format: 'time' },
  'time-micros': { type: 'string', format: 'time' },
  'timestamp-millis': { type: 'string', format: 'date-time' },
  'timestamp-micros': { type: 'string', format: 'date-time' },
  'local-timestamp-millis': { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?$' },
  'local-timestamp-micros': { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?$' },
  uuid: { type: 'string', format: 'uuid' },
}

function convert(s: unknown, named: Map<string, Record<string, unknown>>, ns: string | undefined): Record<string, unknown> {
  if (typeof s === 'string') {
    switch (s) {
      case 'null':
        return { type: 'null' }
      case 'boolean':
        return { type: 'boolean' }
      case 'int':
        return { type: 'integer', minimum: -2147483648, maximum: 2147483647 }
      case 'long':
        return { type: 'integer' }
      case 'float':
      case 'double':
        return { type: 'number' }
      case 'string':
        return { type: 'string' }
      case 'bytes':
        return { type: 'string', contentEncoding: 'base64' }
      default: {
        const full = s.includes('.') || !ns ? s : `${ns}.${s}`
        return named.get(full) ?? named.get(s) ?? {}
      }
    }
  }
  if (Array.isArray(s)) return { anyOf: s.map((b) => convert(b, named, ns)) }
  const o = s as Record<string, unknown>
  const doc = typeof o.doc === 'string' ? { description: o.doc } : {}
  if (typeof o.logicalType === 'string') {
    if (o.logicalType === 'decimal') return { type: 'string', pattern: `^-?\\d+${Number(o.scale ?? 0) > 0 ? `\\.\\d{${o.scale}}` : ''}$`, ...doc }
    const f = logicalFormats[o.logicalType]
    if (f) return { ...f, ...doc }
  }
  const innerNs = typeof o.namespace === 'string' ? o.namespace : ns
  const full = typeof o.name === 'string' ? (o.name.includes('.') || !innerNs ? o.name : `${innerNs}.${o.name}`) : undefined
  switch (o.type) {
    case 'record':
    case 'error': {
      const fields = o.fields as Array<{ name: string; type: unknown; doc?: string; default?: unknown }>
      const out: Record<string, unknown> = {
        type: 'object',
        title: full,
        ...doc,
        properties: Object.fromEntries(fields.map((f) => [f.name, { ...convert(f.type, named, innerNs), ...(f.doc ? { description: f.doc } : {}), ...('default' in f ? { default: f.default } : {}) }])),
        required: fields.filter((f) => !('default' in f)).map((f) => f.name),
        additionalProperties: false,
      }
      if (full) named.set(full, out)
      return out
    }
    case 'enum': {
      const out = { type: 'string', enum: o.symbols, title: full, ...doc }
      if (full) named.set(full, out)
      return out
    }
    case 'fixed':
      return { type: 'string', contentEncoding: 'base64', ...doc }
    case 'array':
      return { type: 'array', items: convert(o.items, named, innerNs), ...doc }
    case 'map':
      return { type: 'object', additionalProperties: convert(o.values, named, innerNs), ...doc }
    default:
      return { ...convert(o.type, named, innerNs), ...doc }
  }
}

