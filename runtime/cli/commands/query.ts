import { lakeTables, parseAsOf, runQuery, type QueryResult } from '../../query/query.ts'
import { readVersionBook } from '../../lifecycle/book.ts'
import { checkEnvName } from '../../lifecycle/environments.ts'
import { envBranch } from '../../compactor/targets.ts'
import type { CliContext } from '../context.ts'
import { print, table, toJsonLine } from '../output.ts'

export async function query(ctx: CliContext, sql: string, opts: { asOf?: string; env?: string; format: string; maxRows: number }): Promise<void> {
  const runtime = await ctx.runtime('read')
  const tables = await lakeTables(runtime.catalog, await readVersionBook(runtime.log))
  const result = await runQuery(runtime.catalog, tables, sql, { asOf: parseAsOf(opts.asOf), maxRows: opts.maxRows, ...(opts.env ? { branch: envBranch(checkEnvName(opts.env)) } : {}) })
  print(formatResult(result, opts.format))
  if (result.truncated) process.stderr.write(`(only the first ${opts.maxRows} rows are shown; raise --max-rows)\n`)
}

export function formatResult(result: QueryResult, format: string): string {
  const { columns, rows } = result
  if (format === 'json') return JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))), null, 2)
  if (format === 'csv') return [columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\n')
  if (rows.length === 0) return `(no rows; columns: ${columns.join(', ')})`
  return table(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))), columns)
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? toJsonLine(v) : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
