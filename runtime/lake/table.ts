import { TributaryError, isTributaryError } from '../errors.ts'
import { moduleLogger } from '../logger.ts'
import { retry } from '../util/retry.ts'
import type { TableIdentifier } from './catalog/identifier.ts'
import type { TableOperations } from './catalog/operations.ts'
import type { TableCommit } from './iceberg/commit.ts'
import { snapshotFiles, type SnapshotFiles } from './iceberg/files.ts'
import { lineage, type Lineage } from './iceberg/lineage.ts'
import { ancestry, currentSchema, currentSnapshot, parseMetadata, refSnapshot, type LoadedMetadata } from './iceberg/metadata.ts'
import { specById } from './iceberg/partition.ts'
import { avroToIcebergSchema } from './iceberg/schema.ts'
import { snapshotProducer, type SnapshotChanges } from './iceberg/snapshot.ts'
import type { DataFile, PartitionSpec, Schema, Snapshot, SnapshotId, SnapshotRef, TableMetadata } from './iceberg/types.ts'
import { MAIN_BRANCH } from './iceberg/types.ts'
import { expireSnapshots, rewriteDataFiles, type ExpireOptions, type ExpireResult, type RewriteOptions, type RewriteResult } from './maintenance.ts'
import { planScan, resolveSnapshot, type ScanPlan, type ScanSelector } from './read/scan.ts'
import type { DuckDBConnection } from '@duckdb/node-api'
import { damagedFile } from './read/damage.ts'
import { localPathOf, scanToSql, type ScanSqlOptions } from './read/sql.ts'
import type { LakeResources } from './resources.ts'
import type { LakeStorage } from './storage.ts'
import type { ColumnBatch } from './write/avro-columns.ts'
import { writePositionDeletes, type DeletePosition } from './write/deletes.ts'
import { writeColumnBatch, writeParquetFiles, type WriteFilesOptions } from './write/parquet.ts'
import { pushAll } from '../util/arrays.ts'

/**
 * The table facade: an Iceberg v2 table as a catalog hands it out (catalog/catalog.ts), to read,
 * write and commit. Every change goes through one commit path (`commit`, through the catalog's
 * TableOperations), so concurrent writers never lose each other's commits. `metadata` is the
 * version this object last read or wrote; each commit re-reads the latest first. Files are
 * written and read with the runtime's lake resources (DuckDB, read-through cache).
 */
const log = moduleLogger('lake')

export interface NewSnapshot {
  /** Default 'main'. A branch that does not exist yet starts from main's current snapshot. */
  branch?: string
  /** Rows of canonical values (runtime/codec/VALUES.md), written as Parquet files (one per partition). */
  addRows?: readonly Record<string, unknown>[]
  /** Files already written with `writeDataFiles`. */
  addDataFiles?: DataFile[]
  /** Rows to delete: (data file URI, row position) pairs, written as position delete files. */
  deletePositions?: readonly DeletePosition[]
  /** Live data or delete file URIs to drop from the table (rewrites). */
  removeFiles?: string[]
  /** Inferred when absent: append, overwrite (with deletes) or delete (deletes only). */
  operation?: SnapshotChanges['operation']
  /** Extra summary properties, e.g. the input offsets a compactor consumed. */
  summary?: Record<string, string>
  /** See SnapshotChanges.expectedParent: the exactly-once guard of a single writer per branch. */
  expectedParent?: SnapshotId | null
}

/**
 * Builds a commit from the latest metadata. Called again after losing a race, with the newer
 * metadata, so it must derive everything base-dependent (sequence numbers, parents, manifest
 * lists) from its argument; it may throw TRIB_LAKE_COMMIT_CONFLICT when its intent no longer holds.
 */
export type CommitPreparer = (base: LoadedMetadata) => TableCommit | Promise<TableCommit>

export interface TableOptions {
  /** Commit attempts before TRIB_LAKE_COMMIT_RETRIES (default: the table's commit.retry.num-retries + 1, else 10). */
  maxAttempts?: number
  /** First backoff after a lost race; doubles per attempt with jitter, capped at 2 s (default 20 ms). */
  baseDelayMs?: number
}

export class Table {
  constructor(
    /** How this table reads and commits its metadata: its catalog's half (catalog/operations.ts). */
    readonly ops: TableOperations,
    private loaded: LoadedMetadata,
    /** The runtime's DuckDB and read-through cache, which this table's reads and writes use. */
    readonly lake: LakeResources,
    private readonly options: TableOptions = {},
  ) {}

  get identifier(): TableIdentifier {
    return this.ops.identifier
  }
  get storage(): LakeStorage {
    return this.ops.storage
  }
  get location(): string {
    return this.loaded.metadata.location
  }
  get metadata(): TableMetadata {
    return this.loaded.metadata
  }
  /** URI of the metadata file `metadata` came from (what StaticTable.from_metadata reads). */
  get metadataFile(): string {
    return this.loaded.file
  }
  /** The local folder DuckDB reads this table's files from: its own (file://) or the read-through cache. */
  get localRoot(): string {
    return this.storage.localPath('') ?? this.lake.cache.dir
  }
  schema(): Schema {
    return currentSchema(this.metadata)
  }
  spec(): PartitionSpec {
    return specById(this.metadata['partition-specs'], this.metadata['default-spec-id'])
  }
  /** The snapshot a selector names (default: main's current snapshot). */
  snapshot(selector: ScanSelector = {}): Snapshot | undefined {
    return resolveSnapshot(this.metadata, selector)
  }

  /**
   * The ancestry of a snapshot, newest first, across expiry (iceberg/lineage.ts): where the current
   * metadata lost a parent, the earlier versions its metadata log lists are read. Stops at the
   * first snapshot `stop` accepts.
   */
  async lineage(id: SnapshotId, stop?: (s: Snapshot) => boolean): Promise<Lineage> {
    const read = async (file: string): Promise<TableMetadata | undefined> => {
      try {
        return parseMetadata(await this.storage.read(file), file)
      } catch (e) {
        // Gone (cleaned up) or damaged: a gap in the history, which the walk accounts for.
        if (isTributaryError(e, 'TRIB_LAKE_FILE_NOT_FOUND') || isTributaryError(e, 'TRIB_LAKE_CORRUPT')) return undefined
        throw e
      }
    }
    return lineage(this.metadata, id, read, stop)
  }

  /** Re-reads the latest metadata version. */
  async refresh(): Promise<TableMetadata> {
    this.loaded = await this.ops.current()
    return this.loaded.metadata
  }

  /**
   * The commit path: prepare against the latest version, commit through the catalog (requirements
   * checked against that base). Losing the race (another writer committed first) re-reads and
   * retries with backoff; a failed requirement is a real conflict and is not retried, and
   * TRIB_LAKE_COMMIT_STATE_UNKNOWN is never retried blindly. `prepare` is re-run against the newer
   * metadata after a lost race.
   */
  async commit(prepare: CommitPreparer | TableCommit): Promise<TableMetadata> {
    const fn: CommitPreparer = typeof prepare === 'function' ? prepare : () => prepare
    let base = await this.ops.current()
    const configured = Number(base.metadata.properties['commit.retry.num-retries'])
    const maxAttempts = this.options.maxAttempts ?? (Number.isInteger(configured) && configured >= 0 ? configured + 1 : 10)
    return retry(
      async (attempt) => {
        if (attempt > 1) base = await this.ops.current()
        const committed = await this.ops.commit(base, await fn(base))
        if (!committed)
          throw new TributaryError('TRIB_LAKE_COMMIT_RETRIES', `commit to ${this.storage.root} lost the race for the next metadata version ${attempt} times; giving up`, {
            details: { location: this.storage.root, attempts: attempt },
          })
        this.loaded = committed
        log.debug({ file: committed.file, attempt }, 'committed')
        return committed.metadata
      },
      {
        what: `commit to ${this.storage.root} lost the race for the next metadata version`,
        backoff: { initialDelayMs: this.options.baseDelayMs ?? 20, maxDelayMs: 2000, jitter: 0.5 },
        maxAttempts,
        // Only a lost race is retried here: a storage failure or a conflict goes to the caller.
        retryOn: (e) => e.code === 'TRIB_LAKE_COMMIT_RETRIES',
        logger: log,
        level: 'debug',
      },
    )
  }

  /**
   * Writes rows as Parquet data files of the current schema and spec, without committing them.
   * `onFile` learns which rows each file holds, in order (for callers that index row positions).
   */
  async writeDataFiles(rows: readonly Record<string, unknown>[], onFile?: WriteFilesOptions['onFile']): Promise<DataFile[]> {
    return writeParquetFiles(this.lake, this.storage, { schema: this.schema(), spec: this.spec(), rows, table: this.location, ...(onFile ? { onFile } : {}) })
  }

  /** Writes a filled column batch (avro-columns.ts) as one data file of an unpartitioned table. */
  async writeColumnBatch(batch: ColumnBatch): Promise<DataFile> {
    return writeColumnBatch(this.lake, this.storage, batch)
  }

  /** The live files of a snapshot (default: main's current snapshot). */
  async files(selector: ScanSelector = {}): Promise<SnapshotFiles> {
    const snapshot = resolveSnapshot(this.metadata, selector)
    return snapshot ? snapshotFiles(this.storage, this.metadata, snapshot) : { manifests: [], data: [], deletes: [] }
  }

  async scan(selector: ScanSelector = {}): Promise<ScanPlan> {
    return planScan(this.storage, this.metadata, selector)
  }

  /**
   * A DuckDB view body reading the selected snapshot with deletes applied, naming files by their
   * URIs: for a DuckDB that can read the storage itself. The runtime uses `localSql`.
   */
  async sql(selector: ScanSelector = {}, options: ScanSqlOptions = {}): Promise<string> {
    return scanToSql(await this.scan(selector), options)
  }

  /**
   * Like `sql`, but every file is a local path DuckDB can read: the storage's own path (file://)
   * or a copy in the read-through cache (cache.ts), fetched now when missing. What every DuckDB
   * read of the lake in the runtime goes through (queries, audits, key index, rewrites).
   */
  async localSql(selector: ScanSelector = {}, options: Omit<ScanSqlOptions, 'pathOf'> = {}): Promise<string> {
    const plan = await this.scan(selector)
    const pathOf = await localPathOf(this.lake, this.storage, plan)
    return scanToSql(plan, { ...options, ...(pathOf ? { pathOf } : {}) })
  }

  /**
   * Runs `query` over a view of the selected snapshot (localSql) on a connection of the lake's
   * DuckDB, closed after. A file of the snapshot DuckDB cannot read fails the read as
   * TRIB_LAKE_CORRUPT naming the file (read/damage.ts), whatever DuckDB's message says.
   */
  async read<T>(selector: ScanSelector, query: (view: string, conn: DuckDBConnection) => Promise<T>, options: Omit<ScanSqlOptions, 'pathOf'> = {}): Promise<T> {
    const plan = await this.scan(selector)
    const pathOf = await localPathOf(this.lake, this.storage, plan)
    const view = scanToSql(plan, { ...options, ...(pathOf ? { pathOf } : {}) })
    const conn = await this.lake.duckdb.connect()
    try {
      return await query(view, conn)
    } catch (e) {
      throw await damagedFile(e, this.location, plan, this.lake.duckdb, pathOf)
    } finally {
      conn.closeSync()
    }
  }

  /** What a failed DuckDB read of `localSql(selector)` made elsewhere means (see `read`): TRIB_LAKE_CORRUPT naming a damaged file, or `e`. */
  async readFailure(e: unknown, selector: ScanSelector = {}): Promise<unknown> {
    const plan = await this.scan(selector)
    return damagedFile(e, this.location, plan, this.lake.duckdb, await localPathOf(this.lake, this.storage, plan))
  }

  /**
   * Commits one snapshot to a branch: writes `addRows` and the position deletes, then commits. On a
   * definite failure (conflict, retries exhausted) the files it wrote are removed; on
   * TRIB_LAKE_COMMIT_STATE_UNKNOWN they are kept, since the commit may have happened.
   */
  async newSnapshot(change: NewSnapshot): Promise<Snapshot> {
    await this.refresh()
    const branch = change.branch ?? MAIN_BRANCH
    const md = this.metadata
    const specId = md['default-spec-id']
    const written: DataFile[] = []
    try {
      pushAll(written, change.addRows?.length ? await this.writeDataFiles(change.addRows) : [])
      const addDataFiles = [...(change.addDataFiles ?? []), ...written].map((file) => ({ file, specId }))
      let addDeleteFiles: { file: DataFile; specId: number }[] = []
      if (change.deletePositions?.length) {
        const head = md.refs[branch] ? refSnapshot(md, branch) : currentSnapshot(md)
        const live = head ? (await snapshotFiles(this.storage, md, head)).data : []
        addDeleteFiles = await writePositionDeletes(this.lake, this.storage, md, live, change.deletePositions)
        pushAll(written, addDeleteFiles.map((d) => d.file))
      }
      const operation = change.operation ?? (addDeleteFiles.length === 0 && !change.removeFiles?.length ? 'append' : addDataFiles.length === 0 ? 'delete' : 'overwrite')
      const changes: SnapshotChanges = { branch, operation, addDataFiles, addDeleteFiles }
      if (change.removeFiles) changes.removeFiles = change.removeFiles
      if (change.summary) changes.summary = change.summary
      // Deletes point at positions in the branch head's files: they must not rebase onto another head.
      changes.expectedParent = change.expectedParent !== undefined ? change.expectedParent : addDeleteFiles.length > 0 ? (md.refs[branch]?.['snapshot-id'] ?? null) : undefined
      if (changes.expectedParent === undefined) delete changes.expectedParent
      return await this.commitSnapshot(changes)
    } catch (e) {
      if (!isTributaryError(e, 'TRIB_LAKE_COMMIT_STATE_UNKNOWN')) await Promise.all(written.map((f) => this.storage.delete(f.filePath).catch(() => undefined)))
      throw e
    }
  }

  /** Commits prepared file changes (files already written); the building block of newSnapshot and rewrites. */
  async commitSnapshot(changes: SnapshotChanges): Promise<Snapshot> {
    const producer = snapshotProducer(this.storage, changes)
    let committed = false
    try {
      const md = await this.commit((base) => producer.prepare(base))
      committed = true
      return md.snapshots.find((s) => s['snapshot-id'] === producer.snapshotId) as Snapshot
    } catch (e) {
      if (isTributaryError(e, 'TRIB_LAKE_COMMIT_STATE_UNKNOWN')) throw e
      await producer.cleanup(false)
      throw e
    } finally {
      if (committed) await producer.cleanup(true)
    }
  }

  /**
   * Points a branch or tag at a snapshot (creating it). `expected` guards against a concurrent move
   * (undefined: no guard; null: the ref must not exist yet).
   */
  async setRef(name: string, snapshotId: SnapshotId, options: Omit<SnapshotRef, 'snapshot-id'> & { expected?: SnapshotId | null } = { type: 'branch' }): Promise<TableMetadata> {
    const { expected, ...ref } = options
    return this.commit({
      requirements: expected === undefined ? [] : [{ type: 'assert-ref-snapshot-id', ref: name, 'snapshot-id': expected }],
      updates: [{ action: 'set-snapshot-ref', 'ref-name': name, ...ref, 'snapshot-id': snapshotId }],
    })
  }

  /** Tags the current snapshot of `from` (default main). */
  async tag(name: string, options: { from?: string; maxRefAgeMs?: number } = {}): Promise<TableMetadata> {
    const snapshot = refSnapshot(this.metadata, options.from ?? MAIN_BRANCH)
    if (!snapshot) throw new TributaryError('TRIB_LAKE_SNAPSHOT_NOT_FOUND', `table ${this.location}: ${options.from ?? MAIN_BRANCH} has no snapshot to tag`, { details: { ref: options.from } })
    return this.setRef(name, snapshot['snapshot-id'], { type: 'tag', expected: null, ...(options.maxRefAgeMs !== undefined ? { 'max-ref-age-ms': options.maxRefAgeMs } : {}) })
  }

  async removeRef(name: string): Promise<TableMetadata> {
    return this.commit({ requirements: [], updates: [{ action: 'remove-snapshot-ref', 'ref-name': name }] })
  }

  /**
   * Write-audit-publish: moves `branch` (default main) to the head of `source` when that is a
   * fast-forward (the branch's head is an ancestor of the source's head). Refused otherwise, and
   * when either ref moved meanwhile: TRIB_LAKE_COMMIT_CONFLICT.
   */
  async fastForward(source: string, branch: string = MAIN_BRANCH): Promise<Snapshot> {
    const md = await this.commit((base) => {
      const m = base?.metadata as TableMetadata
      const to = refSnapshot(m, source)
      if (!to) throw new TributaryError('TRIB_LAKE_SNAPSHOT_NOT_FOUND', `table ${m.location} has no branch ${source}`, { details: { ref: source } })
      const from = m.refs[branch]?.['snapshot-id'] ?? null
      if (from !== null && !ancestry(m, to['snapshot-id']).some((s) => s['snapshot-id'] === from)) {
        throw new TributaryError('TRIB_LAKE_COMMIT_CONFLICT', `table ${m.location}: ${branch} (snapshot ${from}) is not an ancestor of ${source} (snapshot ${to['snapshot-id']}); not a fast-forward`, {
          details: { branch, source },
        })
      }
      const { 'snapshot-id': _s, ...retention } = m.refs[branch] ?? { 'snapshot-id': 0, type: 'branch' as const }
      return {
        requirements: [
          { type: 'assert-ref-snapshot-id', ref: branch, 'snapshot-id': from },
          { type: 'assert-ref-snapshot-id', ref: source, 'snapshot-id': to['snapshot-id'] },
        ],
        updates: [{ action: 'set-snapshot-ref', 'ref-name': branch, ...retention, type: 'branch', 'snapshot-id': to['snapshot-id'] }],
      }
    })
    return refSnapshot(md, branch) as Snapshot
  }

  /**
   * Adopts a new Avro schema: ids kept by name, new optional fields added (see schema.ts). With
   * `keepColumns`, top-level columns the new schema lacks stay in the table, optional from then on
   * (rows written without them hold nulls): another writer's columns, or a field the product no
   * longer declares, keep their history; without it they leave the current schema.
   */
  async evolveSchema(avroSchema: unknown, options: { identifierFields?: string[]; keepColumns?: boolean } = {}): Promise<Schema> {
    const md = await this.commit((base) => {
      const m = base?.metadata as TableMetadata
      const previous = currentSchema(m)
      const ids = options.identifierFields ?? previous['identifier-field-ids']?.map((id) => previous.fields.find((f) => f.id === id)?.name as string)
      const { schema, lastColumnId } = avroToIcebergSchema(avroSchema, { previous, lastColumnId: m['last-column-id'], ...(ids ? { identifierFields: ids } : {}) })
      if (options.keepColumns) for (const f of previous.fields) if (!schema.fields.some((n) => n.name === f.name)) schema.fields.push({ ...f, required: false })
      return {
        requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': m['current-schema-id'] }],
        updates: [
          { action: 'add-schema', schema, 'last-column-id': lastColumnId },
          { action: 'set-current-schema', 'schema-id': -1 },
        ],
      }
    })
    return currentSchema(md)
  }

  async setProperties(updates: Record<string, string>): Promise<TableMetadata> {
    return this.commit({ requirements: [], updates: [{ action: 'set-properties', updates }] })
  }

  /** Removes old snapshots and the files only they reached (maintenance.ts). */
  async expireSnapshots(options: ExpireOptions = {}): Promise<ExpireResult> {
    return expireSnapshots(this, options)
  }

  /** Compacts small files and applies deletes in a replace snapshot (maintenance.ts). */
  async rewriteDataFiles(options: RewriteOptions = {}): Promise<RewriteResult> {
    return rewriteDataFiles(this, options)
  }
}
