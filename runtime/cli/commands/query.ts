import type { Command } from 'commander'
import { lakeTables, parseAsOf, runQuery, type QueryResult } from '../../query/query.ts'
import type { CliContext } from '../context.ts'
import { print, table, toJsonLine } from '../output.ts'

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
