import { getter } from '../spec/fields.ts'
import type { FieldRule } from '../spec/schema.ts'

/** A broken rule: which field, which rule, and a message that says what was expected. */
export interface Violation {
  field: string
  rule: 'required' | 'range' | 'pattern' | 'acceptedValues' | 'maxLength'
  message: string
}

/** `skip`: fields whose value is unknown (Debezium's unavailable values), whose rules do not run. */
export type ContractCheck = (value: Record<string, unknown>, skip?: ReadonlySet<string>) => Violation | undefined

/**
 * Compiles a port's contract rules once into one check per record (ODCS-style field rules).
 * The first broken rule is reported; rules of a field that is absent or null only run `required`.
 */
export function compileContract(fields: Record<string, FieldRule> | undefined): ContractCheck {
  const checks = Object.entries(fields ?? {}).map(([path, rule]) => [path, compileField(path, rule)] as const)
  if (checks.length === 0) return () => undefined
  return (value, skip) => {
    for (const [path, check] of checks) {
      if (skip?.has(path)) continue
      const v = check(value)
      if (v) return v
    }
    return undefined
  }
}

function compileField(path: string, rule: FieldRule): (record: Record<string, unknown>) => Violation | undefined {
  const get = getter(path)
  const pattern = rule.pattern === undefined ? undefined : new RegExp(rule.pattern)
  const accepted = rule.acceptedValues === undefined ? undefined : new Set<unknown>(rule.acceptedValues)
  const { min, max } = rule.range ?? {}
  return (record) => {
    const v = get(record)
    if (v === undefined || v === null) {
      return rule.required ? { field: path, rule: 'required', message: `${path}: required, but missing` } : undefined
    }
    if (min !== undefined || max !== undefined) {
      const n = typeof v === 'string' && v !== '' ? Number(v) : v
      if (typeof n !== 'number' || Number.isNaN(n))
        return { field: path, rule: 'range', message: `${path}: expected a number in range, got ${show(v)}` }
      if ((min !== undefined && n < min) || (max !== undefined && n > max))
        return { field: path, rule: 'range', message: `${path}: ${show(v)} is outside [${min ?? '-∞'}, ${max ?? '∞'}]` }
    }
    if (pattern && !(typeof v === 'string' && pattern.test(v)))
      return { field: path, rule: 'pattern', message: `${path}: ${show(v)} does not match /${pattern.source}/` }
    if (accepted && !accepted.has(v))
      return { field: path, rule: 'acceptedValues', message: `${path}: ${show(v)} is not one of ${[...accepted].map(show).join(', ')}` }
    if (rule.maxLength !== undefined && typeof v === 'string' && v.length > rule.maxLength)
      return { field: path, rule: 'maxLength', message: `${path}: length ${v.length} exceeds ${rule.maxLength}` }
    return undefined
  }
}

const show = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
