import path from 'node:path'
import type { Type } from 'avsc'
import { TributaryError, isTributaryError, messageOf } from '../errors.ts'
import { ancestry, ColumnBatch, columnarPlan, tableRequest, type Catalog, type ColumnarPlan, type DataFile, type SnapshotId, type Table } from '../lake/index.ts'
import { writeJson } from '../codec/json/write.ts'
import type { DeletePosition } from '../lake/write/deletes.ts'
import { deadLetter, dlqHeaders } from '../log/dead-letters.ts'
import type { Consumer, Log, LogRecord, OutgoingRecord } from '../log/log.ts'
import { moduleLogger, type Logger } from '../logger.ts'
import type { Product } from '../product/load.ts'
import { keyExtractor } from '../product/keys.ts'
import { SinkStats, type Sink } from '../sink/sink.ts'
import { createType } from '../codec/types/logical-types.ts'
import type { Serde } from '../codec/avro/serde.ts'
import { HEADER_SIZE, peekSchemaId } from '../codec/avro/wire.ts'
import { StateDb } from '../state/db.ts'
import { auditSnapshot, type AuditResult } from './audit.ts'
import { KeyIndex, type RowPosition } from './key-index.ts'
import { keyText } from '../codec/key.ts'
import { indexKey, upsertKey } from './materialize.ts'
import { isTruncate, TruncateBarrier, UNAVAILABLE_FROM_HEADER, unavailableOf } from '../log/change-headers.ts'
import { storedValues } from './stored-values.ts'
import { PartialRows, type Pending } from './partial-rows.ts'
import { deadLetterRow, type SnapshotTarget } from './targets.ts'
import { pushAll } from '../util/arrays.ts'
import { addFields, recordOf, type RecordSchema } from '../codec/types/additive.ts'

import { AUDIT_BRANCH, DEAD_LETTERS_PROPERTY, OFFSETS_PROPERTY, TOPIC_PROPERTY, resumePoint } from './resume.ts'

/** The branch every compaction commits to (`main` follows it when the audit passes), and the summary properties. */
export { AUDIT_BRANCH, DEAD_LETTERS_PROPERTY, OFFSETS_PROPERTY, TOPIC_PROPERTY }
export const AUDIT_PROPERTY = 'tributary.audit'
const EXPIRE_EVERY_COMMITS = 20
/** Pending input bytes that make a commit due whatever the policy says: memory stays bounded under a flood. */
const MAX_PENDING_BYTES = 64 * 2 ** 20
/** Marks a snapshot that dropped every row (a truncate): history before it is not looked into. */
export const TRUNCATE_PROPERTY = 'tributary.truncate'
/** How many snapshots back an unavailable value of a row whose key changed is looked for. */
const KEY_CHANGE_LOOKBACK = 10

type Row = Record<string, unknown>

export interface CompactorOptions {
  log: Log
  serde: Serde
  /** false: no columnar decode, every row on the canonical path (config `codec.fastPaths: off`). */
  fastPaths?: boolean
  stateDir: string
  catalog: Catalog
  now?: () => number
}

/**
 * Compacts one topic into one Iceberg table, exactly once: the lake's Sink. Each commit lands on
 * the `audit` branch with the topic offsets it covers in its summary; the table's quality rules run
 * on that snapshot, and `main` fast-forwards to it only when they pass (write-audit-publish). On
 * start the compactor resumes from the offsets of the audit branch's head, so a crash anywhere
 * produces no duplicate and no gap. Upsert tables delete replaced rows with position deletes found
 * through a key index. A record the table cannot hold becomes a dead letter of the product.
 */
export class SnapshotCompactor implements Sink {
  readonly product: Product
  readonly target: SnapshotTarget
  readonly stats = new SinkStats()
  lastAudit: AuditResult | undefined
  readonly #opts: CompactorOptions
  readonly #logger: Logger
  readonly #now: () => number
  #table: Table | undefined
  #consumer: Consumer | undefined
  #db: StateDb | undefined
  #index: KeyIndex | undefined
  #readerType: Type | undefined
  /** The schema rows are read with: the port's, plus what evolution: additive added since start. */
  #readerSchema: RecordSchema | undefined
  /** evolution: additive on the port: the writer schema ids already compared with the reader. */
  #writers: Set<number> | undefined
  #keyOf: ((row: Row) => unknown) | undefined
  /** Snapshot id at the head of the audit branch (null: the branch does not exist yet). */
  #head: SnapshotId | null = null
  /** Next offset per partition covered by the head snapshot, then by what is pending. */
  #offsets = new Map<number, number>()
  #pendingRows: Row[] = []
  /** The record each of #pendingRows came from (a row the writer refuses becomes its dead letter). */
  #pendingSources: LogRecord[] = []
  /** Append mode: rows decoded straight into columns (see lake/avro-columns.ts). */
  #pendingBatch: ColumnBatch | undefined
  /** Upsert mode: the last value per key, as a row, as checked Avro bytes for the columnar path, or null (deleted). */
  readonly #pendingKeys = new Map<string, Pending>()
  /** Upsert mode: pending rows whose unavailable fields keep stored values. */
  readonly #partial = new PartialRows(this.#pendingKeys, (v) => this.#opts.serde.decode(v, this.#readerType).value as Row)
  /** A truncate is pending: the commit drops every row the table holds before adding the pending ones. */
  #truncated = false
  #barrier = new TruncateBarrier(1)
  /** Upsert mode: the record a pending row (not a columnar one) came from. */
  readonly #keySources = new Map<string, LogRecord>()
  /** Dead letters of records the table cannot hold, written after each poll (and before a commit). */
  #pendingDead: OutgoingRecord[] = []
  /** The dead-letter topic's end at the last commit (after this table's dead letters, if any). */
  #deadMark = new Map<number, number>()
  /** Records past the last commit that already have a dead letter from an earlier run (`partition:offset`). */
  #alreadyDead = new Set<string>()
  /** The columnar plan per writer schema id (null: rows of that schema take the canonical path). */
  #plans = new Map<number, ColumnarPlan | null>()
  #pendingRecords = 0
  #pendingBytes = 0
  #lastCommitAt = 0
  #idle = false
  #stop = false
  #commitsSinceExpiry = 0

  constructor(product: Product, target: SnapshotTarget, options: CompactorOptions) {
    this.product = product
    this.target = target
    this.#opts = options
    this.#now = options.now ?? Date.now
    this.#logger = moduleLogger('compactor').child({ table: target.name })
  }

  get name(): string {
    return this.target.name
  }

  get productName(): string {
    return this.product.name
  }

  get topic(): string {
    return this.target.topic
  }

  get table(): Table | undefined {
    return this.#table
  }

  async start(): Promise<void> {
    const { target } = this
    this.#stop = false
    this.#idle = false
    if (target.kind === 'port') {
      this.#readerType = createType(target.avroSchema)
      this.#readerSchema = recordOf(target.avroSchema, `schema of ${target.name}`)
      const port = this.product.outputs.find((o) => o.spec.name === target.port)!
      this.#keyOf = keyExtractor(port)
      this.#writers = port.spec.evolution === 'additive' ? new Set() : undefined
    }
    if (target.mode === 'upsert') {
      this.#db = StateDb.open(path.join(this.#opts.stateDir, this.product.name, 'lake'))
      this.#index = new KeyIndex(this.#db, target.port)
    }
    await this.#open()
    this.#lastCommitAt = this.#now()
  }

  /** (Re)reads the table: creates or evolves it, finds where the last commit stopped, seeks there. */
  async #open(): Promise<void> {
    const { target } = this
    const table = await this.#openTable()
    this.#table = table
    // Other writers may have committed since (resume.ts): the audit branch follows main if it moved.
    const { head, offsets, deadLetters } = await resumePoint(table, target.topic, this.#logger, { audit: target.auditBranch, main: target.branch })
    const md = table.metadata
    this.#head = md.refs[this.target.auditBranch]?.['snapshot-id'] ?? null
    this.stats.lastPublishAt = Math.max(this.stats.lastPublishAt, md['snapshot-log'].at(-1)?.['timestamp-ms'] ?? 0)
    this.#offsets = offsets
    this.#deadMark = deadLetters
    this.#pendingRows = []
    this.#pendingSources = []
    this.#keySources.clear()
    this.#pendingDead = []
    this.#pendingBatch = undefined
    this.#pendingKeys.clear()
    this.#partial.clear()
    this.#truncated = false
    this.#pendingRecords = 0
    this.#pendingBytes = 0
    this.#plans.clear()

    await this.#consumer?.close()
    const info = await this.#opts.log.describeTopic(target.topic)
    if (!info) throw new TributaryError('TRIB_TOPIC_NOT_FOUND', `table ${target.name} reads topic ${target.topic}, which does not exist`, { details: { topic: target.topic } })
    this.#barrier = new TruncateBarrier(info.partitions.length)
    const consumer = this.#opts.log.consumer({ group: null, topics: [target.topic], from: { kind: 'earliest' } })
    for (const [partition, offset] of this.#offsets) consumer.seek({ topic: target.topic, partition, offset })
    this.#consumer = consumer
    this.#alreadyDead = await this.#deadSinceLastCommit()

    const headId = head?.['snapshot-id']
    if (this.#index && this.#index.snapshotId !== headId) {
      const rows = await this.#index.rebuild(table, headId, target.keyFields, target.avroSchema)
      this.#logger.info({ rows, snapshot: headId }, 'key index rebuilt from the table')
    }
    // A commit that landed before a crash but was never audited and published.
    if (this.#head !== null && md.refs[this.target.branch]?.['snapshot-id'] !== this.#head) await this.#auditAndPublish(this.#head)
  }

  async #openTable(): Promise<Table> {
    const { target } = this
    try {
      const table = await this.#opts.catalog.loadTable(target.identifier)
      const names = new Set(table.schema().fields.map((f) => f.name))
      const fields = (target.avroSchema.fields as Array<{ name: string }>).map((f) => f.name)
      if (fields.some((f) => !names.has(f))) {
        // Columns the declared schema lacks stay (optional): another writer's, those an additive
        // port's outputs added at run time, a field the product stopped declaring. Dropping them
        // from the current schema would hide committed values from every reader.
        await table.evolveSchema(target.avroSchema, { keepColumns: true })
        const kept = [...names].filter((n) => !fields.includes(n))
        this.#logger.info({ added: fields.filter((f) => !names.has(f)), ...(kept.length > 0 ? { kept } : {}) }, 'table schema evolved')
      }
      return table
    } catch (e) {
      if (!isTributaryError(e, 'TRIB_LAKE_NOT_FOUND')) throw e
    }
    try {
      return await this.#opts.catalog.createTable(target.identifier, tableRequest({
        avroSchema: target.avroSchema,
        partitionBy: [...target.partitionBy],
        ...(target.mode === 'upsert' ? { identifierFields: [...target.keyFields] } : {}),
        properties: { 'tributary.product': target.product, 'tributary.port': target.port, [TOPIC_PROPERTY]: target.topic, 'tributary.mode': target.mode },
      }))
    } catch (e) {
      // Another process created it first.
      if (isTributaryError(e, 'TRIB_LAKE_EXISTS')) return this.#opts.catalog.loadTable(target.identifier)
      throw e
    }
  }

  idle(): boolean {
    return this.#idle && this.#pendingRecords === 0
  }

  /**
   * Reads what is available and commits when the policy says so. With maxWaitMs 0 (draining) a
   * poll that finds nothing commits whatever is pending.
   */
  async step(maxWaitMs = 200): Promise<number> {
    const consumer = this.#consumer
    if (!consumer) throw new TributaryError('TRIB_INTERNAL', `compactor of ${this.name} is not started`)
    const records = await consumer.poll({ maxRecords: 5000, maxWaitMs })
    this.#idle = records.length === 0 && consumer.caughtUp()
    if (records.length > 0) await this.#take(records)
    const elapsed = this.#now() - this.#lastCommitAt
    const due =
      this.#pendingRecords > 0 &&
      ((this.target.commitRecords !== undefined && this.#pendingRecords >= this.target.commitRecords) ||
        this.#pendingBytes >= MAX_PENDING_BYTES ||
        elapsed >= this.target.commitIntervalMs ||
        (maxWaitMs === 0 && records.length === 0))
    if (due) await this.commit()
    return records.length
  }

  async run(onBatch?: (records: number) => void): Promise<void> {
    // A stop request ends the run in progress; a new run (a resume) runs again.
    this.#stop = false
    while (!this.#stop) {
      const n = await this.step()
      if (n > 0) onBatch?.(n)
    }
    await this.commit()
  }

  requestStop(): void {
    this.#stop = true
  }

  async close(): Promise<void> {
    this.#stop = true
    await this.#consumer?.close()
    this.#consumer = undefined
    await this.#db?.close()
    this.#db = undefined
    this.#index = undefined
  }

  async #take(records: LogRecord[]): Promise<void> {
    const ids = new Set<number>()
    const valueIds = new Set<number>()
    if (this.target.kind === 'port')
      for (const r of records)
        for (const b of [r.key, r.value])
          if (b) {
            const id = peekSchemaId(b)
            if (id === undefined || id === null) continue
            ids.add(id)
            if (b === r.value) valueIds.add(id)
          }
    await this.#opts.serde.prefetch(ids)
    if (this.#writers) await this.#followWriters(valueIds)
    this.stats.read += records.length
    for (const [r, truncate] of this.target.kind === 'dlq' ? records.map((r) => [r, false] as const) : this.#barrier.take(records)) {
      this.#offsets.set(r.partition, r.offset + 1)
      this.#pendingRecords++
      this.#pendingBytes += (r.key?.length ?? 0) + (r.value?.length ?? 0)
      try {
        if (this.target.kind === 'dlq') this.#pushRow(deadLetterRow(r), r)
        else if (truncate) this.#truncate(r)
        // A truncate marker of another partition: its offset moves, nothing else.
        else if (!isTruncate(r.headers)) this.#takePortRecord(r)
      } catch (e) {
        this.#deadLetter(r, e)
      }
    }
    // Written now rather than at the commit, so a flood of bad records is not held in memory.
    if (this.#pendingDead.length > 0) await this.#writeDeadLetters()
  }

  #pushRow(row: Row, source: LogRecord): void {
    this.#pendingRows.push(row)
    this.#pendingSources.push(source)
  }

  #takePortRecord(r: LogRecord): void {
    const serde = this.#opts.serde
    const unavailable = r.value === null ? undefined : unavailableOf(r.headers)
    const plan = r.value === null || unavailable ? undefined : this.#planFor(r.value)
    if (plan) {
      const value = r.value as Buffer
      if (this.target.mode === 'append') {
        plan.append((this.#pendingBatch ??= new ColumnBatch(this.#table!.schema())), value, HEADER_SIZE, value.length)
        return
      }
      const key = plan.values(value, HEADER_SIZE, value.length, this.target.keyFields)
      if (key) {
        const k = keyText(key)
        this.#pendingKeys.set(k, value)
        this.#keySources.delete(k)
        return
      }
    }
    const row = r.value === null ? null : (serde.decode(r.value, this.#readerType).value as Row)
    if (this.target.mode === 'append') {
      if (row !== null) this.#pushRow(row, r)
      return
    }
    const key = upsertKey(this.target.keyFields, this.#keyOf!, row, () => (r.key === null ? null : serde.decode(r.key).value))
    if (row === null) this.#keySources.delete(key)
    else this.#keySources.set(key, r)
    if (row !== null && unavailable) {
      const from = r.headers[UNAVAILABLE_FROM_HEADER]
      return this.#partial.take(key, row, unavailable, from ? this.#keyText(serde.decode(from).value) : key)
    }
    this.#partial.replaced(key, row === null)
    this.#pendingKeys.set(key, row)
  }

  /** The index key of a decoded record key (one field's value, or the struct of several). */
  #keyText(k: unknown): string {
    return indexKey(this.target.keyFields, k)
  }

  /** TRUNCATE: every row goes in the next commit, unless this table ignores truncates (logged and counted). */
  #truncate(r: LogRecord): void {
    if (this.target.mode !== 'upsert' || this.target.truncate === 'ignore') {
      this.stats.truncatesIgnored++
      const why = this.target.mode !== 'upsert' ? 'an append table keeps its history' : 'the port says snapshot.truncate: ignore'
      this.#logger.warn({ topic: r.topic, partition: r.partition, offset: r.offset }, `truncate ignored: ${why}`)
      return
    }
    this.#truncated = true
    this.#pendingKeys.clear()
    this.#keySources.clear()
    this.#partial.clear()
  }

  /**
   * A record the table cannot hold (it does not decode, or a value does not fit the table's type)
   * becomes a dead letter of the product, with the code and the field, written before the commit
   * that moves past it; the product's dead-letter table then holds it. Not for the dead-letter
   * table itself, whose topic it would feed: those are counted and logged as refused.
   */
  #deadLetter(r: LogRecord, e: unknown): void {
    const error = isTributaryError(e) ? e : new TributaryError('TRIB_INTERNAL', messageOf(e), { cause: e })
    if (this.target.kind === 'dlq') {
      this.stats.refused++
      this.#logger.error({ err: error.message, partition: r.partition, offset: r.offset }, 'a dead letter the dead-letter table cannot hold (it stays in its topic)')
      return
    }
    this.stats.deadLetters.set(error.code, (this.stats.deadLetters.get(error.code) ?? 0) + 1)
    this.#logger.warn({ err: error.message, topic: r.topic, partition: r.partition, offset: r.offset }, 'record not added to the table: a dead letter')
    if (this.#alreadyDead.has(`${r.partition}:${r.offset}`)) return
    this.#pendingDead.push(deadLetter(this.product.dlqTopic, r, 'sink', this.target.port, error))
  }

  /**
   * Dead letters this table wrote after its last commit (the run that wrote them died before
   * committing): their records are read again now, and must not be dead-lettered twice. They lie
   * between the mark of the last commit and the end of the dead-letter topic.
   */
  async #deadSinceLastCommit(): Promise<Set<string>> {
    const found = new Set<string>()
    if (this.target.kind === 'dlq' || this.#deadMark.size === 0) return found
    const consumer = this.#opts.log.consumer({ group: null, topics: [this.product.dlqTopic], from: { kind: 'latest' } })
    try {
      for (const [partition, offset] of this.#deadMark) consumer.seek({ topic: this.product.dlqTopic, partition, offset })
      for (;;) {
        const records = await consumer.poll({ maxRecords: 5000, maxWaitMs: 0 })
        for (const r of records) {
          const h = (name: string) => r.headers[name]?.toString()
          if (h(dlqHeaders.stage) === 'sink' && h(dlqHeaders.topic) === this.target.topic) found.add(`${h(dlqHeaders.partition)}:${h(dlqHeaders.offset)}`)
        }
        if (records.length === 0 && consumer.caughtUp()) break
      }
    } finally {
      await consumer.close()
    }
    if (found.size > 0) this.#logger.info({ deadLetters: found.size }, 'dead letters written before a restart are not written again')
    return found
  }

  /**
   * evolution: additive: a writer schema (a new version the output port registered) with fields
   * the reader lacks adds them to the reader, and to the table when it lacks them: what is pending
   * commits first (read with the schema before), then the schema change commits on its own, so a
   * reader sees the new column from the snapshot whose rows carry it; earlier rows read null.
   */
  async #followWriters(ids: ReadonlySet<number>): Promise<void> {
    const seen = this.#writers!
    const reader = this.#readerSchema!
    const incoming: Array<{ name: string; type: unknown }> = []
    for (const id of ids) {
      if (seen.has(id)) continue
      seen.add(id)
      const text = this.#opts.serde.writerSchema(id)
      let writer
      try {
        writer = text === undefined ? undefined : recordOf(text, `writer schema id ${id}`)
      } catch {
        continue // not a record: its records are dead letters when decoded
      }
      for (const f of writer?.fields ?? []) if (!reader.fields.some((r) => r.name === f.name)) incoming.push(f)
    }
    if (incoming.length === 0) return
    const { schema, added } = addFields(reader, incoming, { code: 'TRIB_LAKE_SCHEMA_INCOMPATIBLE', where: `table ${this.name}` })
    const table = this.#table!
    const columns = new Set(table.schema().fields.map((f) => f.name))
    if (added.some((f) => !columns.has(f.name))) {
      await this.commit()
      await table.evolveSchema(schema, { keepColumns: true })
      this.#logger.info({ added: added.filter((f) => !columns.has(f.name)).map((f) => f.name) }, 'table schema evolved: columns an output schema version added')
    }
    this.#readerSchema = schema
    this.#readerType = createType(schema)
    this.#plans.clear()
  }

  /** The columnar plan for a framed value's writer schema, if its rows can take that path. */
  #planFor(value: Buffer): ColumnarPlan | undefined {
    const id = peekSchemaId(value)
    if (id === undefined || this.#opts.fastPaths === false) return undefined
    let plan = this.#plans.get(id)
    if (plan === undefined) {
      const table = this.#table!
      const text = this.#opts.serde.writerSchema(id)
      plan = (text !== undefined && table.spec().fields.length === 0 && columnarPlan(JSON.parse(text), table.schema(), this.#readerSchema ?? this.target.avroSchema)) || null
      this.#plans.set(id, plan)
    }
    return plan ?? undefined
  }

  /** Commits what is pending to the audit branch, then audits and publishes it. */
  async commit(): Promise<void> {
    if (this.#pendingRecords === 0 || !this.#table) return
    const started = performance.now()
    const table = this.#table
    const index = this.#index
    const rows: Row[] = index ? [] : this.#pendingRows
    let batch = index ? undefined : this.#pendingBatch
    const deletes: DeletePosition[] = []
    const keyChanges: Array<[string, RowPosition | undefined]> = []
    const rowKeys: string[] = []
    const batchKeys: string[] = []
    const truncated = this.#truncated
    // Rows whose unavailable fields keep stored values; after a truncate nothing is stored to keep.
    if (this.#partial.size > 0) await this.#partial.resolve((keys, fields) => (this.#head !== null && !truncated ? this.#storedValues(keys, fields) : Promise.resolve(new Map())))
    const removeFiles = truncated && this.#head !== null ? await this.#liveFiles() : []
    if (index)
      for (const [key, row] of this.#pendingKeys)
        if (row !== null && !Buffer.isBuffer(row)) {
          rowKeys.push(key)
          rows.push(row)
        }

    try {
      const files: DataFile[] = []
      let written = 0
      if (rows.length > 0) {
        const out = await this.#writeRows(table, rows, index ? rowKeys : undefined, keyChanges)
        pushAll(files, out.files)
        written += out.rows
      }
      if (index) {
        // After the rows: the key of a row the table refused is no longer pending, so the row it would replace stays.
        for (const [key, row] of this.#pendingKeys) {
          // After a truncate every old row goes with its file.
          const old = truncated ? undefined : index.get(key)
          if (old) deletes.push({ path: old[0], pos: old[1] })
          if (row === null) keyChanges.push([key, undefined])
          else if (Buffer.isBuffer(row)) {
            // Checked when taken, so appending cannot fail here.
            this.#planFor(row)!.append((batch ??= new ColumnBatch(table.schema())), row, HEADER_SIZE, row.length)
            batchKeys.push(key)
          }
        }
      }
      if (batch && batch.rows > 0) {
        const file = await table.writeColumnBatch(batch)
        batchKeys.forEach((key, i) => keyChanges.push([key, [file.filePath, i]]))
        files.push(file)
        written += batch.rows
      }
      await this.#writeDeadLetters()
      const summary: Record<string, string> = { [TOPIC_PROPERTY]: this.target.topic, [OFFSETS_PROPERTY]: offsetsJson(this.#offsets) }
      if (this.#deadMark.size > 0) summary[DEAD_LETTERS_PROPERTY] = offsetsJson(this.#deadMark)
      if (truncated) summary[TRUNCATE_PROPERTY] = 'true'
      const snapshot = await table.newSnapshot({
        branch: this.target.auditBranch,
        addDataFiles: files,
        deletePositions: deletes,
        removeFiles,
        summary,
        expectedParent: this.#head,
        ...(files.length === 0 && deletes.length === 0 && removeFiles.length === 0 ? { operation: 'append' as const } : {}),
      })
      this.#head = snapshot['snapshot-id']
      if (truncated) index?.replace(keyChanges, snapshot['snapshot-id'])
      else index?.apply(keyChanges, snapshot['snapshot-id'])
      if (truncated) {
        this.stats.truncates++
        this.#logger.info({ snapshot: snapshot['snapshot-id'], removedFiles: removeFiles.length }, 'truncate: every row dropped')
      }
      this.stats.commits++
      this.stats.rows += written
      this.stats.bytes += files.reduce((n, f) => n + f.fileSizeInBytes, 0)
      this.#pendingRows = []
      this.#pendingSources = []
      this.#pendingBatch = undefined
      this.#pendingKeys.clear()
      this.#keySources.clear()
      this.#alreadyDead.clear()
      this.#partial.clear()
      this.#truncated = false
      this.#pendingRecords = 0
      this.#pendingBytes = 0
      this.#lastCommitAt = this.#now()
      await this.#auditAndPublish(snapshot['snapshot-id'])
      this.stats.lastCommitMs = performance.now() - started
      this.stats.commitSeconds.observe(this.stats.lastCommitMs / 1000)
      this.#logger.debug({ snapshot: snapshot['snapshot-id'], rows: written, columnar: batch?.rows ?? 0, deletes: deletes.length, ms: Math.round(this.stats.lastCommitMs) }, 'snapshot committed')
    } catch (e) {
      if (isTributaryError(e, 'TRIB_LAKE_COMMIT_CONFLICT')) {
        // Someone moved the branch (a rollback, a rewrite): start over from what the table says.
        this.#logger.warn({ err: messageOf(e) }, 'table changed under the compactor; re-reading it')
        await this.#open()
        return
      }
      throw e
    }
  }

  /**
   * Writes the rows of the canonical path. A row the table cannot hold (TRIB_LAKE_ROW_INVALID names
   * it) becomes a dead letter and the others are written again without it. Upsert rows (`keys`)
   * record where they landed in `keyChanges`; the key of a refused one leaves #pendingKeys.
   */
  async #writeRows(table: Table, rows: readonly Row[], keys: readonly string[] | undefined, keyChanges: Array<[string, RowPosition | undefined]>): Promise<{ files: DataFile[]; rows: number }> {
    let live = rows.map((_, i) => i)
    for (;;) {
      const files: DataFile[] = []
      const positions: Array<[string, RowPosition]> = []
      try {
        await table.writeDataFiles(
          live.map((i) => rows[i]!),
          (file, indexes) => {
            files.push(file)
            if (keys) indexes.forEach((r, i) => positions.push([keys[live[r]!]!, [file.filePath, i]]))
          },
        )
        pushAll(keyChanges, positions)
        return { files, rows: live.length }
      } catch (e) {
        // Files of this attempt are in no snapshot: remove them.
        await Promise.all(files.map((f) => table.storage.delete(f.filePath).catch(() => undefined)))
        const at = isTributaryError(e, 'TRIB_LAKE_ROW_INVALID') ? e.details.row : undefined
        const refused = typeof at === 'number' ? live[at] : undefined
        const source = refused === undefined ? undefined : keys ? this.#keySources.get(keys[refused]!) : this.#pendingSources[refused]
        if (refused === undefined || !source) throw e
        this.#deadLetter(source, rowError(e as TributaryError))
        if (keys) this.#pendingKeys.delete(keys[refused]!)
        live = live.filter((i) => i !== refused)
        if (live.length === 0) return { files: [], rows: 0 }
      }
    }
  }

  /**
   * Appends the pending dead letters (as they come, and always before the commit that moves past
   * their records) and moves the mark the next commit records: the dead-letter topic's end after
   * them, or at the commit when there are none. Whatever this table writes there later lies
   * beyond the mark, which is where a restart looks for its own.
   */
  async #writeDeadLetters(): Promise<void> {
    if (this.target.kind === 'dlq') return
    if (this.#pendingDead.length === 0) {
      const info = await this.#opts.log.describeTopic(this.product.dlqTopic)
      this.#deadMark = new Map((info?.partitions ?? []).map((p) => [p.partition, p.end]))
      return
    }
    const positions = await this.#opts.log.append(this.#pendingDead)
    for (const p of positions) this.#deadMark.set(p.partition, Math.max(this.#deadMark.get(p.partition) ?? 0, p.offset + 1))
    this.#pendingDead = []
  }

  /**
   * The stored values the unresolved rows keep, from the audit head. A row whose key changed may
   * find its old key already deleted there (the delete reached an earlier commit: output
   * partitions are read independently), so for those the few snapshots before are read too, back
   * to the last truncate at most.
   */
  async #storedValues(keys: Array<{ key: string; from: string }>, fields: string[]): Promise<Map<string, Row>> {
    const table = this.#table!
    const stored = await storedValues(table, this.#head!, this.target, [...new Set(keys.map((k) => k.from))], fields)
    const moved = () => [...new Set(keys.filter((k) => k.from !== k.key && !stored.has(k.from)).map((k) => k.from))]
    for (const snapshot of ancestry(table.metadata, this.#head!).slice(1, 1 + KEY_CHANGE_LOOKBACK)) {
      if (moved().length === 0 || snapshot.summary?.[TRUNCATE_PROPERTY]) break
      for (const [k, v] of await storedValues(table, snapshot['snapshot-id'], this.target, moved(), fields)) stored.set(k, v)
    }
    return stored
  }

  /** Every live data and delete file of the audit head: what a truncate removes. */
  async #liveFiles(): Promise<string[]> {
    const files = await this.#table!.files({ ref: this.target.auditBranch })
    return [...files.data, ...files.deletes].map((f) => f.dataFile.filePath)
  }

  async #auditAndPublish(snapshotId: SnapshotId): Promise<void> {
    const table = this.#table!
    const main = table.metadata.refs[this.target.branch]?.['snapshot-id']
    const result = await auditSnapshot(table, snapshotId, this.target.quality, this.target.keyFields, main, this.#now())
    this.lastAudit = result
    if (!result.passed) {
      this.stats.auditFailures++
      this.#logger.error({ snapshot: snapshotId, failures: result.failures.map((f) => f.message) }, 'audit failed: main stays where it is')
      await table.setProperties({ [AUDIT_PROPERTY]: writeJson(result) })
      return
    }
    await table.fastForward(this.target.auditBranch, this.target.branch)
    if (table.metadata.properties[AUDIT_PROPERTY]) await table.setProperties({ [AUDIT_PROPERTY]: writeJson(result) })
    this.stats.lastPublishAt = this.#now()
    await this.#expire()
  }

  /** The port's retention, applied every few commits: old snapshots go, tags and refs stay. */
  async #expire(): Promise<void> {
    const retention = this.target.retention
    if (!retention || ++this.#commitsSinceExpiry < EXPIRE_EVERY_COMMITS) return
    this.#commitsSinceExpiry = 0
    const now = this.#now()
    const result = await this.#table!.expireSnapshots({
      // With only keepLast, age does not protect a snapshot: everything beyond the last N may go.
      olderThanMs: retention.maxAgeMs !== undefined ? now - retention.maxAgeMs : now + 1,
      retainLast: retention.keepLast ?? 1,
      now,
    })
    if (result.expiredSnapshotIds.length > 0) this.#logger.info({ expired: result.expiredSnapshotIds.length, deletedFiles: result.deletedFiles.length }, 'snapshots expired')
  }
}

const offsetsJson = (offsets: ReadonlyMap<number, number>): string => JSON.stringify(Object.fromEntries([...offsets].sort(([a], [b]) => a - b)))

/** A row error as a dead letter says it: the field, without the row's index in a commit nobody sees. */
function rowError(e: TributaryError): TributaryError {
  return new TributaryError(e.code, e.message.replace(/^(table .+?): row \d+, /, '$1: '), { cause: e, details: { ...e.details, row: undefined } })
}
