import type { CliContext } from '../context.ts'
import { print, printJson, table } from '../output.ts'

export async function schemas(ctx: CliContext, opts: { subject?: string; format: string }): Promise<void> {
  const { registry } = await ctx.runtime('read')
  if (opts.subject) {
    const versions = await registry.listVersions(opts.subject)
    const all = await Promise.all(versions.map((v) => registry.getVersion(opts.subject!, v)))
    const rows = all.map((s) => ({ ...s, schema: JSON.parse(s.schema) as unknown }))
    if (opts.format === 'json') printJson(rows)
    else for (const s of rows) print(`${s.subject} v${s.version} id=${s.id}\n${JSON.stringify(s.schema, null, 2)}\n`)
    return
  }
  const rows = []
  for (const subject of await registry.listSubjects()) {
    const latest = await registry.getVersion(subject, 'latest')
    const schema = JSON.parse(latest.schema) as { name?: string; namespace?: string; type?: unknown }
    rows.push({
      subject,
      version: latest.version,
      id: latest.id,
      type: typeof schema === 'object' && schema && schema.name ? [schema.namespace, schema.name].filter(Boolean).join('.') : JSON.stringify(schema),
      compatibility: await registry.getCompatibility(subject),
    })
  }
  if (opts.format === 'json') printJson(rows)
  else print(table(rows))
}
