/**
 * The one JSON writer of the value model (../VALUES.md), for everything Tributary prints as JSON:
 * `tail --format json`, the dead-letter view, SSE and NDJSON subscriptions, HTTP responses, the
 * CLI's `--format json`, and the Debezium JSON the sample data is built from.
 * - int64: a bare number literal with every digit (a bigint too), never a string, never rounded;
 * - -0.0 is written `-0.0` (JSON.stringify writes `0`; Python reads `-0` as the integer 0), and a
 *   double that is an integer beyond 2^53 is written with `.0`, so no reader takes it for an int64;
 * - NaN, Infinity, -Infinity: the strings "NaN", "Infinity", "-Infinity", as Jackson (Kafka
 *   Connect's JSON converter) writes them and the codec's JSON reader takes them for floats;
 * - bytes (Buffer, Uint8Array): base64 strings, as Kafka Connect writes bytes;
 * - a Date: its ISO string; a Map: an object of its entries; other objects: `toJSON()` when they
 *   have one, else their own enumerable fields; undefined fields are left out, as JSON.stringify.
 * `indent` pretty-prints like JSON.stringify(value, null, indent).
 */
export function writeJson(value: unknown, indent = 0): string {
  return write(value, indent > 0 ? ' '.repeat(indent) : '', '')
}

function write(v: unknown, step: string, pad: string): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v)
    case 'number':
      if (!Number.isFinite(v)) return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"'
      if (v === 0 && 1 / v < 0) return '-0.0'
      // An integral number beyond 2^53 is a double (an int64 that large is a bigint): a float token, so it is not read back as one.
      return Number.isInteger(v) && !Number.isSafeInteger(v) && Math.abs(v) < 1e21 ? `${v}.0` : String(v)
    case 'bigint':
      return v.toString()
    case 'boolean':
      return v ? 'true' : 'false'
    case 'object':
      break
    default:
      return 'null'
  }
  if (v === null) return 'null'
  if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'null' : `"${v.toISOString()}"`
  const inner = pad + step
  const open = step ? `\n${inner}` : ''
  const sep = step ? `,\n${inner}` : ','
  const close = step ? `\n${pad}` : ''
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]'
    return `[${open}${v.map((x) => (x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : write(x, step, inner))).join(sep)}${close}]`
  }
  const toJSON = (v as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return write(toJSON.call(v), step, pad)
  const entries = v instanceof Map ? [...v].map(([k, x]) => [String(k), x] as const) : Object.entries(v)
  const parts: string[] = []
  for (const [k, x] of entries) {
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue
    parts.push(`${JSON.stringify(k)}:${step ? ' ' : ''}${write(x, step, inner)}`)
  }
  return parts.length === 0 ? '{}' : `{${open}${parts.join(sep)}${close}}`
}
