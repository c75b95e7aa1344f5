import { TributaryError } from '../../errors.ts'
import { toSnapshotId } from './ids.ts'
import { maxFieldId, sameSchema } from './schema.ts'
import type { MetadataLogEntry, PartitionSpec, Schema, Snapshot, SnapshotId, SnapshotRef, SortOrder, TableMetadata } from './types.ts'
import { MAIN_BRANCH } from './types.ts'
import { maxOf } from '../../util/arrays.ts'

/**
 * Commits as data: a list of updates plus the requirements the base must meet, named as in the
 * Iceberg REST catalog spec (pyiceberg's table/update). `applyCommit` is pure: the same base,
 * commit and context always give the same new metadata. Writing it is the catalog's job
 * (catalog/operations.ts).
 */

export type TableUpdate =
  | { action: 'assign-uuid'; uuid: string }
  | { action: 'set-location'; location: string }
  | { action: 'add-schema'; schema: Schema; 'last-column-id'?: number }
  /** -1: the schema added by this commit. */
  | { action: 'set-current-schema'; 'schema-id': number }
  | { action: 'add-spec'; spec: PartitionSpec }
  /** -1: the spec added by this commit. */
  | { action: 'set-default-spec'; 'spec-id': number }
  | { action: 'add-sort-order'; 'sort-order': SortOrder }
  | { action: 'set-default-sort-order'; 'sort-order-id': number }
  | { action: 'add-snapshot'; snapshot: Snapshot }
  | ({ action: 'set-snapshot-ref'; 'ref-name': string } & SnapshotRef)
  | { action: 'remove-snapshots'; 'snapshot-ids': SnapshotId[] }
  | { action: 'remove-snapshot-ref'; 'ref-name': string }
  | { action: 'set-properties'; updates: Record<string, string> }
  | { action: 'remove-properties'; removals: string[] }

export type TableRequirement =
  | { type: 'assert-create' }
  | { type: 'assert-table-uuid'; uuid: string }
  /** `snapshot-id: null` asserts that the ref does not exist. */
  | { type: 'assert-ref-snapshot-id'; ref: string; 'snapshot-id': SnapshotId | null }
  | { type: 'assert-current-schema-id'; 'current-schema-id': number }
  | { type: 'assert-last-assigned-field-id'; 'last-assigned-field-id': number }
  | { type: 'assert-last-assigned-partition-id'; 'last-assigned-partition-id': number }
  | { type: 'assert-default-spec-id'; 'default-spec-id': number }
  | { type: 'assert-default-sort-order-id'; 'default-sort-order-id': number }

export interface TableCommit {
  updates: TableUpdate[]
  requirements: TableRequirement[]
}

export interface CommitContext {
  /** The commit's wall-clock time: last-updated-ms and snapshot-log entries of existing snapshots. */
  nowMs: number
  /** Where the base metadata was read from: appended to metadata-log. */
  baseMetadataFile?: string
}

/** metadata-log length, as Iceberg's `write.metadata.previous-versions-max` (default 100). */
const PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max'

/** Checks every requirement against `base` (undefined: no table yet); throws TRIB_LAKE_COMMIT_CONFLICT. */
export function checkRequirements(base: TableMetadata | undefined, requirements: TableRequirement[]): void {
  for (const r of requirements) {
    const fail = (why: string): never => {
      throw new TributaryError('TRIB_LAKE_COMMIT_CONFLICT', `commit to table ${base?.location ?? '(new)'}: ${r.type} failed: ${why}`, {
        details: { location: base?.location, requirement: r },
      })
    }
    if (r.type === 'assert-create') {
      if (base) fail('the table already exists')
      continue
    }
    if (!base) fail('the table does not exist')
    const md = base as TableMetadata
    switch (r.type) {
      case 'assert-table-uuid':
        if (md['table-uuid'] !== r.uuid) fail(`table uuid is ${md['table-uuid']}, expected ${r.uuid}`)
        break
      case 'assert-ref-snapshot-id': {
        const ref = md.refs[r.ref]
        if (r['snapshot-id'] === null) {
          if (ref) fail(`ref ${r.ref} exists (snapshot ${ref['snapshot-id']}), expected none`)
        } else if (!ref) fail(`ref ${r.ref} does not exist, expected snapshot ${r['snapshot-id']}`)
        else if (ref['snapshot-id'] !== r['snapshot-id']) fail(`ref ${r.ref} is at snapshot ${ref['snapshot-id']}, expected ${r['snapshot-id']}`)
        break
      }
      case 'assert-current-schema-id':
        if (md['current-schema-id'] !== r['current-schema-id']) fail(`current schema is ${md['current-schema-id']}, expected ${r['current-schema-id']}`)
        break
      case 'assert-last-assigned-field-id':
        if (md['last-column-id'] !== r['last-assigned-field-id']) fail(`last column id is ${md['last-column-id']}, expected ${r['last-assigned-field-id']}`)
        break
      case 'assert-last-assigned-partition-id':
        if (md['last-partition-id'] !== r['last-assigned-partition-id']) fail(`last partition id is ${md['last-partition-id']}, expected ${r['last-assigned-partition-id']}`)
        break
      case 'assert-default-spec-id':
        if (md['default-spec-id'] !== r['default-spec-id']) fail(`default spec is ${md['default-spec-id']}, expected ${r['default-spec-id']}`)
        break
      case 'assert-default-sort-order-id':
        if (md['default-sort-order-id'] !== r['default-sort-order-id']) fail(`default sort order is ${md['default-sort-order-id']}, expected ${r['default-sort-order-id']}`)
        break
    }
  }
}

/** The metadata a new table starts from before its creating commit's updates apply. */
function emptyMetadata(nowMs: number): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': '',
    location: '',
    'last-sequence-number': 0,
    'last-updated-ms': nowMs,
    'last-column-id': 0,
    'current-schema-id': -1,
    schemas: [],
    'default-spec-id': -1,
    'partition-specs': [],
    'last-partition-id': 999,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    properties: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
  }
}

export function applyCommit(base: TableMetadata | undefined, commit: TableCommit, ctx: CommitContext): TableMetadata {
  checkRequirements(base, commit.requirements)
  const md: TableMetadata = base ? structuredClone(base) : emptyMetadata(ctx.nowMs)
  const where = base?.location ?? 'new table'
  const invalid = (why: string, update: TableUpdate): never => {
    throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `commit to ${where}: ${update.action}: ${why}`, { details: { location: base?.location, update } })
  }
  /** Ids in an update as the metadata holds them (ids.ts): a commit from outside may spell them otherwise. */
  const snapshotIdIn = (v: unknown, update: TableUpdate): SnapshotId => toSnapshotId(v) ?? invalid(`snapshot id ${String(v)} is not a 64-bit integer`, update)
  let lastAddedSchema: number | undefined
  let lastAddedSpec: number | undefined
  const addedSnapshots = new Set<SnapshotId>()

  for (const u of commit.updates) {
    switch (u.action) {
      case 'assign-uuid':
        if (base && base['table-uuid'] !== u.uuid) invalid('the uuid of an existing table cannot change', u)
        md['table-uuid'] = u.uuid
        break
      case 'set-location':
        md.location = u.location.replace(/\/+$/, '')
        break
      case 'add-schema': {
        const existing = md.schemas.find((s) => sameSchema(s, u.schema))
        const id = existing ? existing['schema-id'] : maxOf([-1, ...md.schemas.map((s) => s['schema-id'])]) + 1
        if (!existing) md.schemas.push({ ...structuredClone(u.schema), 'schema-id': id })
        md['last-column-id'] = Math.max(md['last-column-id'], u['last-column-id'] ?? 0, maxFieldId(u.schema))
        lastAddedSchema = id
        break
      }
      case 'set-current-schema': {
        const id = u['schema-id'] === -1 ? lastAddedSchema : u['schema-id']
        if (id === undefined) invalid('-1 given but this commit added no schema', u)
        if (!md.schemas.some((s) => s['schema-id'] === id)) invalid(`schema ${id} does not exist`, u)
        md['current-schema-id'] = id as number
        break
      }
      case 'add-spec': {
        const same = md['partition-specs'].find((s) => JSON.stringify(s.fields) === JSON.stringify(u.spec.fields))
        const id = same ? same['spec-id'] : maxOf([-1, ...md['partition-specs'].map((s) => s['spec-id'])]) + 1
        if (!same) md['partition-specs'].push({ 'spec-id': id, fields: structuredClone(u.spec.fields) })
        md['last-partition-id'] = maxOf([md['last-partition-id'], ...u.spec.fields.map((f) => f['field-id'])])
        lastAddedSpec = id
        break
      }
      case 'set-default-spec': {
        const id = u['spec-id'] === -1 ? lastAddedSpec : u['spec-id']
        if (id === undefined || !md['partition-specs'].some((s) => s['spec-id'] === id)) invalid(`spec ${String(u['spec-id'])} does not exist`, u)
        md['default-spec-id'] = id as number
        break
      }
      case 'add-sort-order':
        if (!md['sort-orders'].some((o) => o['order-id'] === u['sort-order']['order-id'])) md['sort-orders'].push(structuredClone(u['sort-order']))
        break
      case 'set-default-sort-order':
        if (!md['sort-orders'].some((o) => o['order-id'] === u['sort-order-id'])) invalid(`sort order ${u['sort-order-id']} does not exist`, u)
        md['default-sort-order-id'] = u['sort-order-id']
        break
      case 'add-snapshot': {
        const s = structuredClone(u.snapshot)
        s['snapshot-id'] = snapshotIdIn(s['snapshot-id'], u)
        if (s['parent-snapshot-id'] !== undefined) s['parent-snapshot-id'] = snapshotIdIn(s['parent-snapshot-id'], u)
        if (md.snapshots.some((x) => x['snapshot-id'] === s['snapshot-id'])) invalid(`snapshot ${s['snapshot-id']} already exists`, u)
        if (s['sequence-number'] <= md['last-sequence-number']) {
          invalid(`sequence number ${s['sequence-number']} is not above the table's last sequence number ${md['last-sequence-number']}`, u)
        }
        const parent = s['parent-snapshot-id']
        if (parent !== undefined && !md.snapshots.some((x) => x['snapshot-id'] === parent)) invalid(`parent snapshot ${parent} does not exist`, u)
        md.snapshots.push(s)
        md['last-sequence-number'] = s['sequence-number']
        addedSnapshots.add(s['snapshot-id'])
        break
      }
      case 'set-snapshot-ref': {
        const { action: _a, 'ref-name': name, ...ref } = u
        ref['snapshot-id'] = snapshotIdIn(ref['snapshot-id'], u)
        const snapshot = md.snapshots.find((x) => x['snapshot-id'] === ref['snapshot-id'])
        if (!snapshot) invalid(`snapshot ${ref['snapshot-id']} does not exist`, u)
        if (name === MAIN_BRANCH && ref.type !== 'branch') invalid('main must be a branch', u)
        if (ref.type === 'tag' && (ref['min-snapshots-to-keep'] !== undefined || ref['max-snapshot-age-ms'] !== undefined)) invalid('tags have no snapshot retention', u)
        const before = md.refs[name]
        md.refs[name] = ref
        if (name === MAIN_BRANCH && before?.['snapshot-id'] !== ref['snapshot-id']) {
          md['current-snapshot-id'] = ref['snapshot-id']
          // A snapshot added by this commit becomes current at its own time; an existing one now.
          const at = addedSnapshots.has(ref['snapshot-id']) ? (snapshot as Snapshot)['timestamp-ms'] : ctx.nowMs
          md['snapshot-log'].push({ 'timestamp-ms': at, 'snapshot-id': ref['snapshot-id'] })
        }
        break
      }
      case 'remove-snapshots': {
        const ids = new Set(u['snapshot-ids'])
        for (const [name, ref] of Object.entries(md.refs)) {
          if (ids.has(ref['snapshot-id'])) invalid(`snapshot ${ref['snapshot-id']} is still referenced by ${name}`, u)
        }
        md.snapshots = md.snapshots.filter((s) => !ids.has(s['snapshot-id']))
        // The spec: drop every snapshot-log entry up to the last one whose snapshot is gone.
        const left = new Set(md.snapshots.map((s) => s['snapshot-id']))
        const lastGone = md['snapshot-log'].findLastIndex((e) => !left.has(e['snapshot-id']))
        if (lastGone >= 0) md['snapshot-log'] = md['snapshot-log'].slice(lastGone + 1)
        // Statistics files of removed snapshots go with them (fields kept as another writer wrote them).
        for (const key of ['statistics', 'partition-statistics']) {
          const list = (md as unknown as Record<string, unknown>)[key]
          if (Array.isArray(list)) (md as unknown as Record<string, unknown>)[key] = list.filter((x: { 'snapshot-id'?: SnapshotId }) => !ids.has(x['snapshot-id'] as SnapshotId))
        }
        break
      }
      case 'remove-snapshot-ref':
        if (md.refs[u['ref-name']] && u['ref-name'] === MAIN_BRANCH) delete md['current-snapshot-id']
        delete md.refs[u['ref-name']]
        break
      case 'set-properties':
        md.properties = { ...md.properties, ...u.updates }
        break
      case 'remove-properties':
        for (const key of u.removals) delete md.properties[key]
        break
      default:
        invalid('unknown action', u)
    }
  }

  if (!md['table-uuid'] || !md.location) throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `commit to ${where}: a new table needs assign-uuid and set-location`, { details: {} })
  if (!md.schemas.some((s) => s['schema-id'] === md['current-schema-id'])) throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `commit to ${where}: the table has no current schema`, { details: {} })
  if (!md['partition-specs'].some((s) => s['spec-id'] === md['default-spec-id'])) throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `commit to ${where}: the table has no default partition spec`, { details: {} })

  md['last-updated-ms'] = Math.max(ctx.nowMs, base?.['last-updated-ms'] ?? 0)
  if (base && ctx.baseMetadataFile) {
    const max = Number(md.properties[PREVIOUS_VERSIONS_MAX] ?? 100)
    const log: MetadataLogEntry[] = [...md['metadata-log'], { 'timestamp-ms': base['last-updated-ms'], 'metadata-file': ctx.baseMetadataFile }]
    md['metadata-log'] = log.slice(Math.max(0, log.length - max))
  }
  return md
}
