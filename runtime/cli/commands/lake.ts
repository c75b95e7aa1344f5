import { AUDIT_BRANCH, AUDIT_PROPERTY, DEAD_LETTERS_PROPERTY, OFFSETS_PROPERTY, TOPIC_PROPERTY } from '../../compactor/compactor.ts'
import { auditSnapshot, type AuditResult } from '../../compactor/audit.ts'
import { auditIsAhead } from '../../compactor/resume.ts'
import { snapshotTargets, type SnapshotTarget } from '../../compactor/targets.ts'
import { TributaryError, isTributaryError } from '../../errors.ts'
import { MAIN_BRANCH, parseSnapshotId, refSnapshot, tableId, type SnapshotId, type Table, type TableUpdate } from '../../lake/index.ts'
import { parseExact } from '../../codec/json/exact.ts'
import { parseDuration } from '../../util/duration.ts'
import type { CliContext } from '../context.ts'
import { print, printJson, table as textTable } from '../output.ts'
import { progressBar } from '../progress.ts'

interface Opened {
  table: Table
  target: SnapshotTarget | undefined
}

/**
 * `<product>.<port>` → the table, and what the product's spec says about it (audit rules). The
 * product is an instance name: `user-profiles.v2.profiles` is major 2's table (port names have no dots).
 */
async function openLakeTable(ctx: CliContext, name: string): Promise<Opened> {
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || dot === name.length - 1) throw new TributaryError('TRIB_USAGE', `table ${JSON.stringify(name)}: expected <product>.<port>, e.g. user-profiles.profiles`)
  const [product, port] = [name.slice(0, dot), name.slice(dot + 1)]
  const runtime = await ctx.runtime('read')
  let target: SnapshotTarget | undefined
  try {
    target = ctx.products([]).flatMap(snapshotTargets).find((t) => t.name === name)
  } catch {
    target = undefined
  }
  try {
    return { table: await runtime.catalog.loadTable(tableId(product, port)), target }
  } catch (e) {
    if (isTributaryError(e, 'TRIB_LAKE_NOT_FOUND')) throw new TributaryError('TRIB_LAKE_NOT_FOUND', `unknown table ${name}: the lake (${runtime.catalog.uri}) has no such table`, { cause: e })
    throw e
  }
}

/** A snapshot id, or a branch or tag name, to a snapshot id of the table. */
function resolveId(table: Table, ref: string): SnapshotId {
  const id = parseSnapshotId(ref) ?? table.metadata.refs[ref]?.['snapshot-id']
  if (id === undefined || !table.metadata.snapshots.some((s) => s['snapshot-id'] === id))
    throw new TributaryError('TRIB_LAKE_SNAPSHOT_NOT_FOUND', `table ${table.location} has no snapshot, branch or tag ${JSON.stringify(ref)}`, { details: { ref } })
  return id
}

/** `lake snapshots` */
export async function snapshots(ctx: CliContext, name: string, opts: { format: string }): Promise<void> {
  const { table } = await openLakeTable(ctx, name)
  const md = table.metadata
  const refsOf = (id: SnapshotId) => Object.entries(md.refs).filter(([, r]) => r['snapshot-id'] === id).map(([n, r]) => (r.type === 'tag' ? `tag:${n}` : n))
  const rows = [...md.snapshots]
    .sort((a, b) => a['timestamp-ms'] - b['timestamp-ms'])
    .map((s) => {
      const summary = s.summary as Record<string, string>
      return {
        snapshot: s['snapshot-id'],
        parent: s['parent-snapshot-id'] ?? null,
        time: new Date(s['timestamp-ms']).toISOString(),
        operation: summary.operation,
        added: Number(summary['added-records'] ?? 0),
        deleted: Number(summary['added-position-deletes'] ?? 0),
        rows: Number(summary['total-records'] ?? 0) - Number(summary['total-position-deletes'] ?? 0),
        refs: refsOf(s['snapshot-id']).join(' ') || null,
        offsets: summary[OFFSETS_PROPERTY] ?? null,
      }
    })
  if (opts.format === 'json') printJson({ table: name, location: table.location, metadata: table.metadataFile, snapshots: rows })
  else print(textTable(rows))
}

/** `lake tag` */
export async function tag(ctx: CliContext, name: string, tag: string, opts: { snapshot?: string }): Promise<void> {
  const { table } = await openLakeTable(ctx, name)
  const id = resolveId(table, opts.snapshot ?? MAIN_BRANCH)
  await table.setRef(tag, id, { type: 'tag', expected: null })
  print(`tagged snapshot ${id} of ${name} as ${tag}`)
}

/** `lake branch` */
export async function branch(ctx: CliContext, name: string, branch: string, opts: { snapshot?: string }): Promise<void> {
  const { table } = await openLakeTable(ctx, name)
  const id = resolveId(table, opts.snapshot ?? MAIN_BRANCH)
  await table.setRef(branch, id, { type: 'branch', expected: null })
  print(`created branch ${branch} of ${name} at snapshot ${id}`)
}

/** `lake rollback` */
export async function rollback(ctx: CliContext, name: string, opts: { to: string }): Promise<void> {
  const { table } = await openLakeTable(ctx, name)
  const id = resolveId(table, opts.to)
  await table.commit((base) => {
    const md = base!.metadata
    const updates: TableUpdate[] = [MAIN_BRANCH, ...(md.refs[AUDIT_BRANCH] ? [AUDIT_BRANCH] : [])].map((ref) => ({ action: 'set-snapshot-ref', 'ref-name': ref, type: 'branch', 'snapshot-id': id }))
    return {
      requirements: [MAIN_BRANCH, AUDIT_BRANCH].map((ref) => ({ type: 'assert-ref-snapshot-id', ref, 'snapshot-id': md.refs[ref]?.['snapshot-id'] ?? null })),
      updates,
    }
  })
  print(`${name}: main is at snapshot ${id}. The compactor continues from the offsets that snapshot covers,`)
  print('re-reading the stream from there (rewind the product first with `tributary replay` to change what it re-reads).')
}

/** `lake expire` */
export async function expire(ctx: CliContext, name: string, opts: { olderThan: string; retainLast: number }): Promise<void> {
  const age = parseDuration(opts.olderThan)
  if (age === undefined) throw new TributaryError('TRIB_USAGE', `--older-than ${JSON.stringify(opts.olderThan)}: expected a duration such as 7d or 12h`)
  if (!Number.isInteger(opts.retainLast) || opts.retainLast < 1) throw new TributaryError('TRIB_USAGE', '--retain-last must be a whole number of at least 1')
  const { table } = await openLakeTable(ctx, name)
  const result = await table.expireSnapshots({ olderThanMs: Date.now() - age, retainLast: opts.retainLast })
  print(`${name}: expired ${result.expiredSnapshotIds.length} snapshots, deleted ${result.deletedFiles.length} files no longer referenced`)
}

/** `lake compact` */
export async function compact(ctx: CliContext, name: string): Promise<void> {
  const { table } = await openLakeTable(ctx, name)
  // The audit branch when it holds main's head (and maybe more); main when main moved without it
  // (another writer committed): the compactor then restarts the audit branch at main (resume.ts).
  const branch = (await auditIsAhead(table)) ? AUDIT_BRANCH : MAIN_BRANCH
  const head = refSnapshot(table.metadata, branch)
  const summary = head?.summary as Record<string, string> | undefined
  // The rewrite covers the same offsets as its parent, so a compactor resumes correctly from it.
  const carried = summary?.[OFFSETS_PROPERTY]
    ? { [OFFSETS_PROPERTY]: summary[OFFSETS_PROPERTY], [TOPIC_PROPERTY]: summary[TOPIC_PROPERTY] ?? '', ...(summary[DEAD_LETTERS_PROPERTY] ? { [DEAD_LETTERS_PROPERTY]: summary[DEAD_LETTERS_PROPERTY] } : {}) }
    : undefined
  const bar = progressBar(`compacting ${name}`, { unit: 'files' })
  const result = await table.rewriteDataFiles({ branch, minInputFiles: 2, ...(carried ? { summary: carried } : {}), onProgress: (n, total) => bar.update(n, total) })
  bar.done()
  if (branch === AUDIT_BRANCH && result.snapshot && table.metadata.refs[MAIN_BRANCH]?.['snapshot-id'] === head?.['snapshot-id']) await table.fastForward(AUDIT_BRANCH, MAIN_BRANCH)
  print(
    result.snapshot
      ? `${name}: rewrote ${result.rewrittenDataFiles} data files into ${result.addedDataFiles}, dropped ${result.removedDeleteFiles} delete files (snapshot ${result.snapshot['snapshot-id']})`
      : `${name}: nothing to compact`,
  )
}

/** `lake audit` */
export async function audit(ctx: CliContext, name: string, opts: { format: string }): Promise<void> {
  const { table, target } = await openLakeTable(ctx, name)
  const md = table.metadata
  const recorded = md.properties[AUDIT_PROPERTY] ? (parseExact(md.properties[AUDIT_PROPERTY]) as AuditResult) : undefined
  const head = md.refs[AUDIT_BRANCH]?.['snapshot-id'] ?? md.refs[MAIN_BRANCH]?.['snapshot-id']
  const now = head === undefined ? undefined : await auditSnapshot(table, head, target?.quality, target?.keyFields ?? [], md.refs[MAIN_BRANCH]?.['snapshot-id'])
  const state = { table: name, main: md.refs[MAIN_BRANCH]?.['snapshot-id'] ?? null, audit: md.refs[AUDIT_BRANCH]?.['snapshot-id'] ?? null, rules: target?.quality ?? null, recorded: recorded ?? null, now: now ?? null }
  if (opts.format === 'json') {
    printJson(state)
    return
  }
  print(`${name}: main at ${state.main ?? '-'}, audit branch at ${state.audit ?? '-'}${state.main !== state.audit ? ' (main is behind: not published)' : ''}`)
  print(`rules: ${target?.quality ? JSON.stringify(target.quality) : 'none'}`)
  if (recorded) print(`last recorded audit: snapshot ${recorded.snapshotId} ${recorded.passed ? 'passed' : 'FAILED'} at ${recorded.checkedAt}${recorded.failures.map((f) => `\n  - ${f.rule}${f.field ? ` ${f.field}` : ''}: ${f.message}`).join('')}`)
  if (now) print(`now, snapshot ${now.snapshotId} (${now.rows} rows): ${now.passed ? 'passes' : 'FAILS'}${now.failures.map((f) => `\n  - ${f.rule}${f.field ? ` ${f.field}` : ''}: ${f.message}`).join('')}`)
}
