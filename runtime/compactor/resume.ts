import { parseExact } from '../codec/json/exact.ts'
import { TributaryError } from '../errors.ts'
import type { Snapshot, SnapshotId, Table } from '../lake/index.ts'
import { MAIN_BRANCH } from '../lake/iceberg/types.ts'
import type { Logger } from '../logger.ts'

/**
 * Where a compactor resumes, when it is not the table's only writer. Its commits land on the
 * audit branch with the topic offsets they cover (snapshot summary), and main follows by
 * fast-forward. Other engines (Spark, pyiceberg, Trino) commit to main directly, roll it back,
 * rewrite and expire its snapshots; none of them carries the offsets on.
 *
 * - When main is no longer behind or at the audit branch (another writer committed to it, or it
 *   was rolled back), the audit branch restarts at main: what it held beyond main is not in main,
 *   so its records are read again.
 * - The offsets are those of the newest snapshot in the branch head's lineage that recorded them,
 *   across foreign snapshots after it and across expiry (Table.lineage reads earlier metadata
 *   versions where the history was cut). A lineage that reaches the table's first snapshot without
 *   any means the stream starts at the beginning. One that is cut before any is refused
 *   (TRIB_LAKE_OFFSETS_UNKNOWN): guessing would duplicate or skip rows.
 *
 * A dev environment's tables have a branch pair of their own (`env.<name>.audit` → `env.<name>`,
 * compactor/targets.ts); the rules are the same with those in place of audit and main.
 */
export const AUDIT_BRANCH = 'audit'
export const OFFSETS_PROPERTY = 'tributary.offsets'
export const TOPIC_PROPERTY = 'tributary.topic'
/** Summary key: the dead-letter topic's end when the snapshot was committed (the compactor's sink dead letters). */
export const DEAD_LETTERS_PROPERTY = 'tributary.dead-letters'

/** The branch commits land on, and the one that follows it when they pass their audit. */
export interface Branches {
  readonly audit: string
  readonly main: string
}
const MAIN_BRANCHES: Branches = { audit: AUDIT_BRANCH, main: MAIN_BRANCH }

export interface ResumePoint {
  /** Head of the branch the compactor commits to (undefined: the table has no snapshot yet). */
  head: Snapshot | undefined
  /** Next offset per partition of the topic that `head` covers. */
  offsets: Map<number, number>
  /** End per partition of the dead-letter topic recorded with those offsets (empty: none recorded). */
  deadLetters: Map<number, number>
}

export async function resumePoint(table: Table, topic: string, log: Logger, branches: Branches = MAIN_BRANCHES): Promise<ResumePoint> {
  await realignAudit(table, log, branches)
  const md = table.metadata
  const head = table.snapshot(md.refs[branches.audit] ? { ref: branches.audit } : {})
  const recorded = head ? await recordingSnapshot(table, head, topic) : undefined
  return {
    head,
    offsets: recorded ? parseOffsets(table, recorded, OFFSETS_PROPERTY) : new Map(),
    deadLetters: recorded?.summary[DEAD_LETTERS_PROPERTY] !== undefined ? parseOffsets(table, recorded, DEAD_LETTERS_PROPERTY) : new Map(),
  }
}

/** Whether main's head is the audit branch's head or one of its ancestors (across expiry). */
export async function auditIsAhead(table: Table, branches: Branches = MAIN_BRANCHES): Promise<boolean> {
  const md = table.metadata
  const main = md.refs[branches.main]?.['snapshot-id']
  const audit = md.refs[branches.audit]?.['snapshot-id']
  if (audit === undefined || main === undefined || audit === main) return audit !== undefined
  const { snapshots } = await table.lineage(audit, (s) => s['snapshot-id'] === main)
  return snapshots.at(-1)?.['snapshot-id'] === main
}

/** Points the audit branch at main's head when main moved without it. */
async function realignAudit(table: Table, log: Logger, branches: Branches): Promise<void> {
  const md = table.metadata
  const main = md.refs[branches.main]?.['snapshot-id']
  const audit = md.refs[branches.audit]?.['snapshot-id']
  if (main === undefined || audit === undefined || (await auditIsAhead(table, branches))) return
  log.warn({ main, audit, branch: branches.main }, 'main moved without the compactor (another writer committed to it, or it was rolled back): the audit branch restarts at main, and what it held beyond main is read again from the topic')
  await table.setRef(branches.audit, main, { type: 'branch', expected: audit })
}

/** The offsets a snapshot covers: those of the newest snapshot in its lineage that recorded them for `topic`. */
export async function offsetsCovered(table: Table, snapshot: Snapshot, topic: string): Promise<Map<number, number>> {
  const found = await recordingSnapshot(table, snapshot, topic)
  return found ? parseOffsets(table, found, OFFSETS_PROPERTY) : new Map()
}

/** The newest snapshot in the lineage of `snapshot` that recorded offsets of `topic`; undefined when the lineage is complete without one. */
async function recordingSnapshot(table: Table, snapshot: Snapshot, topic: string): Promise<Snapshot | undefined> {
  // The compactor writes the topic and its offsets together: one without the other is damage
  // (starting over from the beginning would duplicate every row).
  const recorded = (s: Snapshot): boolean => s.summary[TOPIC_PROPERTY] === topic
  const { snapshots, complete } = await table.lineage(snapshot['snapshot-id'], recorded)
  const found = snapshots.at(-1)
  if (found && recorded(found)) {
    if (found.summary[OFFSETS_PROPERTY] !== undefined) return found
    throw new TributaryError('TRIB_LAKE_CORRUPT', `table ${table.location}: snapshot ${found['snapshot-id']} names topic ${topic} (${TOPIC_PROPERTY}) but records no ${OFFSETS_PROPERTY}: its summary is damaged`, {
      details: { location: table.location, snapshotId: found['snapshot-id'] },
    })
  }
  if (complete) return undefined
  const oldest = snapshots.at(-1)
  const withOffsets = table.metadata.snapshots.filter(recorded).map((s) => s['snapshot-id'])
  throw new TributaryError(
    'TRIB_LAKE_OFFSETS_UNKNOWN',
    `table ${table.location}: snapshot ${snapshot['snapshot-id']} covers input offsets of topic ${topic} that no snapshot records any more: its history was expired at snapshot ${oldest?.['snapshot-id']}, ` +
      `after the last snapshot the compactor wrote. Resuming would duplicate or skip rows; ${withOffsets.length > 0 ? `roll main back to one that records them (${withOffsets.slice(-3).join(', ')}) with tributary lake rollback, or ` : ''}rebuild the table from the topic`,
    { details: { location: table.location, snapshotId: snapshot['snapshot-id'], topic, cutAt: oldest?.['snapshot-id'] } },
  )
}

function parseOffsets(table: Table, s: Snapshot, property: string): Map<number, number> {
  const text = s.summary[property] as string
  const bad = (): never => {
    throw new TributaryError('TRIB_LAKE_CORRUPT', `table ${table.location}: snapshot ${s['snapshot-id']} has ${property} ${text}, not an object of partition → next offset`, {
      details: { location: table.location, snapshotId: s['snapshot-id'] as SnapshotId },
    })
  }
  let raw: unknown
  try {
    raw = parseExact(text)
  } catch {
    return bad()
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return bad()
  const out = new Map<number, number>()
  for (const [p, o] of Object.entries(raw)) {
    if (!/^\d+$/.test(p) || typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) return bad()
    out.set(Number(p), o)
  }
  return out
}
