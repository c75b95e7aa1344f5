import { randomBytes } from 'node:crypto'
import { DuckDBScalarFunction, VARCHAR, type DuckDBConnection } from '@duckdb/node-api'
import { quoteIdent, quoteString } from '../lake/duckdb.ts'
import { type PiiAction, redactText } from '../processor/policy.ts'

/**
 * PII actions on a table's view, for one reader of the SQL port: `SELECT * REPLACE (…)` over the
 * table, with hash and mask computed by the same function the subscriptions use (redactText), run
 * as a DuckDB scalar function. The salt stays in this process. The function's name is random per
 * query and made after the statement was checked, so the statement cannot call it: it could
 * otherwise hash guesses with the salt and match them against hashed values.
 */
export function registerRedaction(conn: DuckDBConnection, salt: string): string {
  const name = `pii_${randomBytes(16).toString('hex')}`
  conn.registerScalarFunction(
    DuckDBScalarFunction.create({
      name,
      returnType: VARCHAR,
      parameterTypes: [VARCHAR, VARCHAR],
      mainFunction: (_info, input, output) => {
        const actions = input.getColumnVector(0)
        const values = input.getColumnVector(1)
        for (let i = 0; i < input.rowCount; i++) {
          const v = values.getItem(i) as string | null
          output.setItem(i, v === null ? null : redactText(actions.getItem(i) as 'hash' | 'mask', v, salt))
        }
        output.flush()
      },
    }),
  )
  return name
}

type Tree = PiiAction | Map<string, Tree>

/** The view body with the PII actions applied: nested fields through struct_update, types kept. */
export function redactedSql(body: string, pii: Readonly<Record<string, PiiAction>>, fn: string): string {
  const root = new Map<string, Tree>()
  for (const [path, action] of Object.entries(pii)) {
    const parts = path.split('.')
    let node = root
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node.set(part, action)
      else {
        const next = node.get(part)
        node.set(part, next instanceof Map ? next : new Map())
        node = node.get(part) as Map<string, Tree>
      }
    })
  }
  const expr = (ref: string, tree: Tree): string => {
    // CASE WHEN false THEN x END is NULL of x's own type.
    if (tree === 'drop') return `CASE WHEN false THEN ${ref} END`
    if (typeof tree === 'string') return `${fn}(${quoteString(tree)}, ${ref})`
    const fields = [...tree].map(([field, sub]) => `${quoteIdent(field)} := ${expr(`struct_extract(${ref}, ${quoteString(field)})`, sub)}`)
    return `CASE WHEN ${ref} IS NULL THEN NULL ELSE struct_update(${ref}, ${fields.join(', ')}) END`
  }
  const replace = [...root].map(([column, tree]) => `${expr(quoteIdent(column), tree)} AS ${quoteIdent(column)}`)
  return `SELECT * REPLACE (${replace.join(', ')}) FROM (${body})`
}
