import { TributaryError } from '../../errors.ts'
import { parseExact } from '../../codec/json/exact.ts'
import { writeJson } from '../../codec/json/write.ts'
import { quantity, shown, toSnapshotId, type SnapshotId } from './ids.ts'
import type { Schema, Snapshot, SnapshotRef, TableMetadata } from './types.ts'
import { MAIN_BRANCH } from './types.ts'

/**
 * Reading, checking and looking things up in table metadata. Checks are the ones readers enforce
 * (and that would otherwise surface later as confusing failures): a file that fails them is
 * TRIB_LAKE_CORRUPT naming the file.
 */

/** Table metadata with the file it was read from (or written to). */
export interface LoadedMetadata {
  metadata: TableMetadata
  /** Absolute URI of the metadata file (what StaticTable.from_metadata reads). */
  file: string
}

/** The metadata file's text: compact JSON, as Java and pyiceberg write it, with every int64 exact. */
export function serializeMetadata(metadata: TableMetadata): Buffer {
  return Buffer.from(writeJson(metadata))
}

export function parseMetadata(text: string | Buffer, file: string): TableMetadata {
  let raw: unknown
  try {
    // Exact: snapshot ids beyond 2^53 (every Java or pyiceberg id) come back as bigints.
    raw = parseExact(text.toString())
  } catch (e) {
    throw corrupt(file, `is not valid JSON (${(e as Error).message})`, e)
  }
  return checkMetadata(raw, file)
}

const corrupt = (file: string, why: string, cause?: unknown): TributaryError =>
  new TributaryError('TRIB_LAKE_CORRUPT', `table metadata ${file} ${why}`, { cause, details: { file } })

const REQUIRED_V2: [string, 'number' | 'string' | 'array'][] = [
  ['format-version', 'number'],
  ['table-uuid', 'string'],
  ['location', 'string'],
  ['last-sequence-number', 'number'],
  ['last-updated-ms', 'number'],
  ['last-column-id', 'number'],
  ['schemas', 'array'],
  ['current-schema-id', 'number'],
  ['partition-specs', 'array'],
  ['default-spec-id', 'number'],
  ['last-partition-id', 'number'],
  ['sort-orders', 'array'],
  ['default-sort-order-id', 'number'],
]

/**
 * Checks the v2 required fields, the exactness of every int64 the runtime reads (snapshot ids
 * in the int64 form of ids.ts, quantities within 2^53) and the cross references, and fills the
 * optional lists. Fields it does not model are kept as they are.
 */
export function checkMetadata(raw: unknown, file: string): TableMetadata {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw corrupt(file, 'is not a JSON object')
  const m = raw as Record<string, unknown>
  if (m['format-version'] !== 2) throw corrupt(file, `has format-version ${shown(m['format-version'])}; only Iceberg v2 tables are supported`)
  for (const [key, kind] of REQUIRED_V2) {
    const v = m[key]
    const ok = kind === 'array' ? Array.isArray(v) : kind === 'number' ? quantity(v) !== undefined : typeof v === kind
    if (!ok) throw corrupt(file, v === undefined ? `lacks the required field ${key}` : `has ${key} ${shown(v)}, not ${kind === 'number' ? 'an integer within 2^53' : `a ${kind}`}`)
  }
  const md = {
    properties: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
    ...m,
  } as unknown as TableMetadata
  if (md['current-snapshot-id'] === -1 || md['current-snapshot-id'] === null) delete md['current-snapshot-id']
  const check = new Checker(file)
  for (const [i, s] of md.snapshots.entries()) {
    const at = `snapshots[${i}]`
    check.id(s, 'snapshot-id', at)
    if (s['parent-snapshot-id'] === null) delete s['parent-snapshot-id']
    else check.id(s, 'parent-snapshot-id', at, true)
    check.quantity(s, 'sequence-number', at)
    check.quantity(s, 'timestamp-ms', at)
    if (typeof s['manifest-list'] !== 'string') throw corrupt(file, `snapshot ${shown(s['snapshot-id'])} has no manifest-list`)
  }
  check.id(md, 'current-snapshot-id', '', true)
  for (const [name, ref] of Object.entries(md.refs)) {
    check.id(ref, 'snapshot-id', `refs.${name}`)
    check.int64(ref, 'max-ref-age-ms', `refs.${name}`)
    check.int64(ref, 'max-snapshot-age-ms', `refs.${name}`)
  }
  for (const [i, e] of md['snapshot-log'].entries()) {
    check.id(e, 'snapshot-id', `snapshot-log[${i}]`)
    check.quantity(e, 'timestamp-ms', `snapshot-log[${i}]`)
  }
  for (const [i, e] of md['metadata-log'].entries()) check.quantity(e, 'timestamp-ms', `metadata-log[${i}]`)
  if (!md.schemas.some((s) => s['schema-id'] === md['current-schema-id'])) throw corrupt(file, `has current-schema-id ${md['current-schema-id']}, which is not in schemas`)
  if (!md['partition-specs'].some((s) => s['spec-id'] === md['default-spec-id'])) throw corrupt(file, `has default-spec-id ${md['default-spec-id']}, which is not in partition-specs`)
  const ids = new Set(md.snapshots.map((s) => s['snapshot-id']))
  const current = md['current-snapshot-id']
  if (current !== undefined && !ids.has(current)) throw corrupt(file, `has current-snapshot-id ${current}, which is not in snapshots`)
  for (const [name, ref] of Object.entries(md.refs)) {
    if (!ids.has(ref['snapshot-id'])) throw corrupt(file, `has ref ${name} pointing to snapshot ${ref['snapshot-id']}, which is not in snapshots`)
  }
  // The spec: a table with a current snapshot always has a main branch, even if refs were omitted.
  if (current !== undefined && !md.refs[MAIN_BRANCH]) md.refs = { ...md.refs, [MAIN_BRANCH]: { 'snapshot-id': current, type: 'branch' } }
  return md
}

/** Field checks that name the file, the place and the value as found (bigints exactly). */
class Checker {
  constructor(private readonly file: string) {}

  #fail(at: string, key: string, v: unknown, what: string): never {
    throw corrupt(this.file, `has ${at ? `${at}.` : ''}${key} ${shown(v)}, not ${what}`)
  }

  /** A snapshot id: any int64, put into its one form (ids.ts). */
  id(o: object, key: string, at: string, optional = false): void {
    const r = o as Record<string, unknown>
    if (optional && r[key] === undefined) return
    const id = toSnapshotId(r[key])
    if (id === undefined) this.#fail(at, key, r[key], 'a 64-bit integer')
    r[key] = id
  }

  /** Optional int64 kept as written (retention ages). */
  int64(o: object, key: string, at: string): void {
    const r = o as Record<string, unknown>
    if (r[key] !== undefined && toSnapshotId(r[key]) === undefined) this.#fail(at, key, r[key], 'a 64-bit integer')
  }

  quantity(o: object, key: string, at: string): void {
    const r = o as Record<string, unknown>
    if (quantity(r[key]) === undefined) this.#fail(at, key, r[key], 'an integer within 2^53')
  }
}

export function currentSchema(md: TableMetadata): Schema {
  return schemaById(md, md['current-schema-id'])
}

export function schemaById(md: TableMetadata, id: number): Schema {
  const schema = md.schemas.find((s) => s['schema-id'] === id)
  if (!schema) throw new TributaryError('TRIB_LAKE_CORRUPT', `table ${md.location} has no schema ${id}`, { details: { location: md.location, schemaId: id } })
  return schema
}

export function snapshotById(md: TableMetadata, id: SnapshotId): Snapshot | undefined {
  return md.snapshots.find((s) => s['snapshot-id'] === id)
}

export function currentSnapshot(md: TableMetadata): Snapshot | undefined {
  const id = md['current-snapshot-id']
  return id === undefined ? undefined : snapshotById(md, id)
}

/** The snapshot a branch or tag points to; undefined for an unknown ref (or a new table's main). */
export function refSnapshot(md: TableMetadata, ref: string): Snapshot | undefined {
  const r: SnapshotRef | undefined = md.refs[ref]
  return r ? snapshotById(md, r['snapshot-id']) : undefined
}

/** The schema a snapshot was written with (the current one when the snapshot does not say). */
export function snapshotSchema(md: TableMetadata, snapshot: Snapshot | undefined): Schema {
  const id = snapshot?.['schema-id']
  return id === undefined ? currentSchema(md) : (md.schemas.find((s) => s['schema-id'] === id) ?? currentSchema(md))
}

/** The snapshot ids from `id` back through its parents (newest first), as far as metadata has them. */
export function ancestry(md: TableMetadata, id: SnapshotId | undefined): Snapshot[] {
  const out: Snapshot[] = []
  const seen = new Set<SnapshotId>()
  let s = id === undefined ? undefined : snapshotById(md, id)
  while (s && !seen.has(s['snapshot-id'])) {
    out.push(s)
    seen.add(s['snapshot-id'])
    const parent = s['parent-snapshot-id']
    s = parent === undefined ? undefined : snapshotById(md, parent)
  }
  return out
}
