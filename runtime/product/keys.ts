import { fieldAt, getter } from '../spec/fields.ts'
import type { OutputPort } from './load.ts'

/**
 * The Avro schema of an output port's record key: the key field's own type for a single key, or a
 * record of the key fields (named `<Value>Key`) for a composite one.
 */
export function keySchemaOf(port: OutputPort): unknown {
  const schema = port.schema.schema as { name: string; namespace?: string }
  const fields = port.keyFields.map((k) => ({ name: k.replace(/\./g, '_'), type: fieldAt(port.schema.schema, k)!.type }))
  if (fields.length === 1) return fields[0]!.type
  return { type: 'record', name: `${schema.name.slice(schema.name.lastIndexOf('.') + 1)}Key`, namespace: schema.namespace, fields }
}

/** Extracts the key value from an output value: the field, or an object of the fields. */
export function keyExtractor(port: OutputPort): ((value: Record<string, unknown>) => unknown) | undefined {
  const fields = port.keyFields
  if (fields.length === 0) return undefined
  const getters = fields.map((f) => getter(f))
  if (getters.length === 1) return getters[0]!
  const names = fields.map((k) => k.replace(/\./g, '_'))
  return (v) => Object.fromEntries(names.map((n, i) => [n, getters[i]!(v)]))
}
