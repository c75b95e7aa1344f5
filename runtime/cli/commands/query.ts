import type { Command } from 'commander'
import { lakeTables, parseAsOf, runQuery, type QueryResult } from '../../query/query.ts'
import { writeJson } from '../../codec/json/write.ts'
import type { CliContext } from '../context.ts'
import { cellText, print, table } from '../output.ts'

export function registerQuery(program: Command, ctx: CliContext): void {
  program
    .command('query')
    .description('run a read-only SQL query (DuckDB) over the lake\'s tables, e.g. "SELECT * FROM user_profiles.profiles LIMIT 5"')
    .argument('<sql>', 'one SELECT statement; tables are <product>.<port> (quote dashes, or use underscores)')
    .option('--as-of <when>', 'time travel: a snapshot id, a tag or branch, or an ISO 8601 time')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--max-rows <n>', 'print at most n rows', (v) => Number(v), 10_000)
    .action(async (sql: string, opts: { asOf?: string; format: string; maxRows: number }) => {
      const runtime = await ctx.runtime('read')
      const tables = await lakeTables(runtime.catalog)
      const result = await runQuery(runtime.catalog, tables, sql, { asOf: parseAsOf(opts.asOf), maxRows: opts.maxRows })
      print(formatResult(result, opts.format))
      if (result.truncated) process.stderr.write(`(only the first ${opts.maxRows} rows are shown; raise --max-rows)\n`)
    })
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
