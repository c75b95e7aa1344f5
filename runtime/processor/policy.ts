import { createHmac } from 'node:crypto'
import type { PolicySpec } from '../spec/schema.ts'

export type PiiAction = PolicySpec['pii'][string]
export type Redact = (value: Record<string, unknown>) => Record<string, unknown>

/**
 * PII policies of an output port, applied to each output before encoding:
 * - hash: HMAC-SHA256 with the configured salt, hex; equal inputs stay joinable, values are not recoverable;
 * - mask: every character but the last four becomes `*`;
 * - drop: the field becomes null (the schema must allow it; checked when the product loads).
 */
export function compilePolicy(pii: Readonly<Record<string, PiiAction>>, salt: string): Redact {
  const steps = Object.entries(pii).map(([path, action]) => step(path.split('.'), action, salt))
  if (steps.length === 0) return (v) => v
  return (value) => steps.reduce((v, s) => s(v), value)
}

/**
 * One PII action on one text value (hash and mask apply to strings; the spec checks the field).
 * Mask counts code points, so it never splits a surrogate pair into invalid UTF-16. The SQL port
 * calls this same function from DuckDB (query/redact.ts), so both read paths agree.
 */
export function redactText(action: Exclude<PiiAction, 'drop'>, s: string, salt: string): string {
  if (action === 'hash') return createHmac('sha256', salt).update(s).digest('hex')
  const chars = Array.from(s)
  return chars.length <= 4 ? '*'.repeat(chars.length) : '*'.repeat(chars.length - 4) + chars.slice(-4).join('')
}

function step(path: string[], action: PiiAction, salt: string): Redact {
  const apply = (v: unknown): unknown => {
    if (v === null || v === undefined) return v
    if (action === 'drop') return null
    return redactText(action, typeof v === 'string' ? v : String(v), salt)
  }
  // Copy on the way down so the transform's object is never mutated.
  const rewrite = (obj: Record<string, unknown>, depth: number): Record<string, unknown> => {
    const name = path[depth]!
    if (!(name in obj)) return obj
    const inner = obj[name]
    if (depth === path.length - 1) return { ...obj, [name]: apply(inner) }
    if (inner === null || typeof inner !== 'object') return obj
    return { ...obj, [name]: rewrite(inner as Record<string, unknown>, depth + 1) }
  }
  return (value) => rewrite(value, 0)
}
