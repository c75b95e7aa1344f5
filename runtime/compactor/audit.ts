import type { SnapshotId, Table } from '../lake/index.ts'
import { quoteIdent, quoteString } from '../lake/duckdb.ts'
import type { QualityRules } from '../spec/schema.ts'
import { parseDuration } from '../util/duration.ts'

export interface AuditFailure {
  rule: 'notNull' | 'unique' | 'acceptedValues' | 'range' | 'rowCountChange' | 'freshness'
  field?: string
  message: string
}

export interface AuditResult {
  snapshotId: SnapshotId
  passed: boolean
  rows: number
  failures: AuditFailure[]
  checkedAt: string
}

/**
 * The quality gate of write-audit-publish: the port's rules, run with DuckDB over the audited
 * snapshot (deletes applied), in one aggregate pass, plus the row count of `main` for the allowed
 * change. Freshness compares the newest value of a time field with the audit time.
 */
export async function auditSnapshot(
  table: Table,
  snapshotId: SnapshotId,
  rules: QualityRules | undefined,
  keyFields: readonly string[],
  previousSnapshotId: SnapshotId | undefined,
  now = Date.now(),
): Promise<AuditResult> {
  const checks: Array<{ sql: string; fail: (v: number) => AuditFailure | undefined }> = [{ sql: 'count(*)', fail: () => undefined }]
  const q = quoteIdent
  for (const f of rules?.notNull ?? [])
    checks.push({ sql: `count(*) FILTER (WHERE ${q(f)} IS NULL)`, fail: (n) => (n > 0 ? { rule: 'notNull', field: f, message: `${n} rows have ${f} null` } : undefined) })
  for (const [f, values] of Object.entries(rules?.acceptedValues ?? {})) {
    const list = values.map((v) => (typeof v === 'string' ? quoteString(v) : String(v))).join(', ')
    checks.push({
      sql: `count(*) FILTER (WHERE ${q(f)} IS NOT NULL AND CAST(${q(f)} AS VARCHAR) NOT IN (${values.map((v) => quoteString(String(v))).join(', ')}))`,
      fail: (n) => (n > 0 ? { rule: 'acceptedValues', field: f, message: `${n} rows have ${f} outside [${list}]` } : undefined),
    })
  }
  for (const [f, { min, max }] of Object.entries(rules?.range ?? {})) {
    const cond = [min !== undefined ? `${q(f)} < ${min}` : '', max !== undefined ? `${q(f)} > ${max}` : ''].filter(Boolean).join(' OR ')
    if (cond) checks.push({ sql: `count(*) FILTER (WHERE ${cond})`, fail: (n) => (n > 0 ? { rule: 'range', field: f, message: `${n} rows have ${f} outside [${min ?? '-∞'}, ${max ?? '∞'}]` } : undefined) })
  }
  if (rules?.unique && keyFields.length > 0) {
    const key = keyFields.map(q).join(', ')
    checks.push({ sql: `count(*) - (SELECT count(*) FROM (SELECT DISTINCT ${key} FROM audited))`, fail: (n) => (n > 0 ? { rule: 'unique', message: `${n} rows repeat a key (${keyFields.join(', ')})` } : undefined) })
  }
  const fresh = rules?.freshness
  if (fresh) {
    const maxAge = parseDuration(fresh.maxAge)!
    checks.push({
      sql: `coalesce(epoch_ms(max(${q(fresh.field)})), -1)`,
      fail: (newest) =>
        newest < 0 || now - newest > maxAge
          ? { rule: 'freshness', field: fresh.field, message: newest < 0 ? `no ${fresh.field} value at all` : `newest ${fresh.field} is ${new Date(newest).toISOString()}, older than ${fresh.maxAge}` }
          : undefined,
    })
  }

  const values = await table.read({ snapshotId }, async (view, conn) =>
    (await conn.runAndReadAll(`WITH audited AS (${view}) SELECT ${checks.map((c) => `CAST(${c.sql} AS DOUBLE)`).join(', ')} FROM audited`)).getRows()[0]!.map(Number),
  )
  const failures = checks.map((c, i) => c.fail(values[i]!)).filter((f): f is AuditFailure => f !== undefined)
  const rows = values[0]!
  const change = rules?.rowCountChange
  if (change && previousSnapshotId !== undefined) {
    const prev = await table.read({ snapshotId: previousSnapshotId }, async (view, conn) => Number((await conn.runAndReadAll(`SELECT count(*) FROM (${view})`)).getRows()[0]![0]))
    const pct = prev === 0 ? 0 : (Math.abs(rows - prev) / prev) * 100
    if (pct > change.maxPercent)
      failures.push({ rule: 'rowCountChange', message: `row count changed by ${pct.toFixed(1)}% (${prev} → ${rows}), more than ${change.maxPercent}%` })
  }
  return { snapshotId, passed: failures.length === 0, rows, failures, checkedAt: new Date(now).toISOString() }
}
