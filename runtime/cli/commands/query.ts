import { lakeTables, parseAsOf, runQuery, type QueryResult } from '../../query/query.ts'
import { readVersionBook } from '../../lifecycle/book.ts'
import { checkEnvName } from '../../lifecycle/environments.ts'
import { envBranch } from '../../compactor/targets.ts'
import { writeJson } from '../../codec/json/write.ts'
import type { CliContext } from '../context.ts'
import { cellText, print, table } from '../output.ts'

export async function query(ctx: CliContext, sql: string, opts: { asOf?: string; env?: string; format: string; maxRows: number }): Promise<void> {
  const runtime = await ctx.runtime('read')
  const tables = await lakeTables(runtime.catalog, await readVersionBook(runtime.log))
  const result = await runQuery(runtime.catalog, tables, sql, { asOf: parseAsOf(opts.asOf), maxRows: opts.maxRows, ...(opts.env ? { branch: envBranch(checkEnvName(opts.env)) } : {}) })
  print(formatResult(result, opts.format))
  if (result.truncated) process.stderr.write(`(only the first ${opts.maxRows} rows are shown; raise --max-rows)\n`)
}

/**
 * A result as text. The rows are in the value model (lake/read/values.ts), printed without loss:
 * JSON by the codec's writer (int64 and HUGEINT as bare integers with every digit, -0.0 kept, NaN
 * and the infinities as the strings "NaN", "Infinity", "-Infinity", bytes in base64); CSV and the
 * table cell by cell (`cellText`).
 */
export function formatResult(result: QueryResult, format: string): string {
  const { columns, rows } = result
  if (format === 'json') return writeJson(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))), 2)
  if (format === 'csv') return [columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\n')
  if (rows.length === 0) return `(no rows; columns: ${columns.join(', ')})`
  return table(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))), columns)
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : cellText(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
