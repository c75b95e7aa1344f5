/**
 * The one string that identifies a key in state stores and lookups, whatever form it arrived in:
 * a primitive → its string; a record with one field (a Debezium key struct such as `{ id: 42 }`)
 * → that field's string; a record with several fields → JSON of the values in field order.
 * So `ctx.lookup('profiles', 42)` finds a row keyed by `{ id: 42 }` or by `42`.
 */
export function canonicalKey(key: unknown): string {
  if (key === null || key === undefined) return ''
  if (typeof key !== 'object') return String(key)
  if (Buffer.isBuffer(key)) return key.toString('base64')
  const values = Object.values(key as Record<string, unknown>)
  if (values.length === 1) return canonicalKey(values[0])
  return JSON.stringify(values)
}
