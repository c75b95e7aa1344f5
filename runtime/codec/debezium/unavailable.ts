/**
 * Debezium's placeholder for a value it could not read: an unchanged TOASTed column of PostgreSQL
 * with REPLICA IDENTITY DEFAULT (its `unavailable.value.placeholder`, default below). It comes as
 * the string for text-like columns (text, varchar, json, jsonb, uuid, enums), as its UTF-8 bytes for
 * bytea (base64 text in JSON), and as a one-element array of either for arrays. It is found in the
 * wire row, before any conversion: a decimal or JSON converter would otherwise turn it into a
 * wrong value or refuse it.
 */
export const UNAVAILABLE_PLACEHOLDER = '__debezium_unavailable_value'

const BYTES = Buffer.from(UNAVAILABLE_PLACEHOLDER)
const BASE64 = BYTES.toString('base64')

function isPlaceholder(v: unknown): boolean {
  if (typeof v === 'string') return v === UNAVAILABLE_PLACEHOLDER || v === BASE64
  return v instanceof Uint8Array && v.length === BYTES.length && BYTES.equals(v)
}

/** Whether a wire value is the placeholder, in any of its forms. */
export const isUnavailable = (v: unknown): boolean => isPlaceholder(v) || (Array.isArray(v) && v.length === 1 && isPlaceholder(v[0]))

/**
 * The row with each placeholder replaced by null, and the names of those columns; the row itself
 * (and no names) when it has none, which is the common case and allocates nothing.
 */
export function takeUnavailable(row: Record<string, unknown>): { row: Record<string, unknown>; unavailable?: ReadonlySet<string> } {
  let names: Set<string> | undefined
  for (const k in row) if (isUnavailable(row[k])) (names ??= new Set()).add(k)
  if (!names) return { row }
  const copy = { ...row }
  for (const k of names) copy[k] = null
  return { row: copy, unavailable: names }
}

/** Whether a row holds a placeholder (a fast path that converted the row declines such records). */
export function hasUnavailable(row: Record<string, unknown>): boolean {
  for (const k in row) if (isUnavailable(row[k])) return true
  return false
}
