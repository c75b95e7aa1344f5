import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../../../runtime/errors.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import { canonicalSchema } from '../../../runtime/registry/canonical.ts'
import { type CompatibilityResult, ParsedSchemas, checkLevel } from '../../../runtime/registry/compatibility.ts'
import type { CompatibilityLevel, RegisteredSchema, SchemaRegistry } from '../../../runtime/registry/registry.ts'
import { fsyncDir, isErrno, UndoFailed } from '../../shared/fs.ts'
import { abandonedTail, JournalFile, type Where } from '../../shared/journal.ts'
import { acquireLock, describeHolder, type Holder, LockOwner, releaseLock, restoreBrokenLock } from '../../shared/lock.ts'
import {
  type RegistryEvent,
  RegistryState,
  type VersionEntry,
  asEvent,
  checkVersionNumber,
  isCompatibilityLevel,
  subjectNotFound,
  versionNotFound,
} from './state.ts'

/**
 * The embedded schema registry: Confluent semantics over a journal file in `dir`
 * (`registry.jsonl`, lines of connectors/shared/journal.ts), shared safely by every process that
 * opens the same folder. Each change takes the folder's lock, reads what other processes appended,
 * decides (ids, versions, compatibility) on that fresh state, and appends one line. Reads pick up
 * other processes' changes without the lock.
 *
 * An id is never given twice: a line that ends in a newline is committed, so one failing its
 * checksum is damage (TRIB_REGISTRY_CORRUPT naming file, line and bytes), never dropped. Only an
 * unterminated last line left by a writer that died holding the lock is cut, by the next writer.
 * Opened read-only, the registry changes nothing on disk.
 */
export interface EmbeddedRegistry extends SchemaRegistry {
  readonly dir: string
  /** The live subject versions that use a schema id (Confluent's /schemas/ids/{id}/versions). */
  versionsOfId(id: number): Promise<Array<{ subject: string; version: number }>>
  /** The subject's own level, without falling back to the global one. */
  subjectCompatibility(subject: string): Promise<CompatibilityLevel | undefined>
  /** Removes the subject's own level (it then follows the global one); returns what it was. */
  deleteCompatibility(subject: string): Promise<CompatibilityLevel | undefined>
}

export interface EmbeddedRegistryOptions {
  dir: string
  /** How long a change waits for another process's lock (default 10 s). */
  lockTimeoutMs?: number
  /** Never changes a file (no lock, nothing created); changes are refused. */
  readOnly?: boolean
}

const log = moduleLogger('registry')
export const REGISTRY_FILE = 'registry.jsonl'
const LOCK = 'registry.lock'
/** A registry change holds the lock for milliseconds; another host's lock older than this is stale. */
const MAX_HOLD_MS = 30_000

export const registryCorrupt = (reason: string, where: Pick<Where, 'file' | 'position'> & Partial<Where>): TributaryError =>
  new TributaryError(
    'TRIB_REGISTRY_CORRUPT',
    `${where.file}: ${where.line === undefined ? '' : `line ${where.line} `}(bytes ${where.position}..${where.end ?? '?'}) ${reason}; nothing was changed, see tributary doctor`,
    { details: { file: where.file, line: where.line, position: where.position, end: where.end } },
  )

export async function openEmbeddedRegistry(options: EmbeddedRegistryOptions): Promise<EmbeddedRegistry> {
  const registry = new EmbeddedSchemaRegistry(options)
  await registry.init()
  return registry
}

/**
 * The same registry with its events held in memory, for one process only (`tributary test`, like
 * Kafka Streams' TopologyTestDriver): nothing on disk, same semantics, same contract suite.
 */
export async function openMemoryRegistry(): Promise<EmbeddedRegistry> {
  const registry = new EmbeddedSchemaRegistry({ dir: '(memory)' }, true)
  await registry.init()
  return registry
}

class EmbeddedSchemaRegistry implements EmbeddedRegistry {
  readonly dir: string
  readonly #file: string
  readonly #lockFile: string
  readonly #lockTimeoutMs: number
  readonly #readOnly: boolean
  readonly #state = new RegistryState()
  /** Parsed schemas of compatibility checks, kept across checks. */
  readonly #parsed = new ParsedSchemas()
  /** Events live only in #state: no journal file, no lock. */
  readonly #inMemory: boolean
  #journal: JournalFile | undefined
  #owner: LockOwner | undefined
  /** A failed append that could not be taken back: this registry holds the lock and changes nothing more. */
  #broken: Error | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(options: EmbeddedRegistryOptions, inMemory = false) {
    this.#inMemory = inMemory
    this.dir = options.dir
    this.#file = path.join(options.dir, REGISTRY_FILE)
    this.#lockFile = path.join(options.dir, LOCK)
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000
    this.#readOnly = options.readOnly ?? false
  }

  async init(): Promise<void> {
    if (this.#inMemory) return this.#state.apply({ op: 'init', format: 1 })
    if (!this.#readOnly) {
      fs.mkdirSync(this.dir, { recursive: true })
      this.#owner = new LockOwner(this.dir)
    }
    if (this.#openJournal()) {
      this.#apply(this.#journal!)
      const cut = await abandonedTail(() => this.#tail(), () => this.#apply(this.#journal!), this.#lockFile)
      if (cut !== undefined) throw registryCorrupt('ends in an unterminated line, and no writer holds the lock: the file was cut or damaged', { file: this.#file, position: cut.from, end: cut.to })
    } else if (!this.#readOnly) {
      await this.#mutate(() => ({ events: [], result: undefined }))
    }
    log.debug({ dir: this.dir, schemas: this.#state.schemas.size, subjects: this.#state.subjects.size }, 'embedded registry open')
  }

  async register(subject: string, schema: string | object): Promise<{ id: number; version: number }> {
    const text = canonicalSchema(schema)
    return this.#mutate((state) => {
      const live = state.versions(subject)
      const knownId = state.idsBySchema.get(text)
      const same = knownId === undefined ? undefined : live.find((v) => v.id === knownId)
      if (same) return { events: [], result: { id: same.id, version: same.version } }
      const level = state.levelOf(subject)
      const check = checkLevel(level, text, this.#versioned(live), this.#parsed)
      if (!check.compatible) {
        throw new TributaryError('TRIB_REGISTRY_INCOMPATIBLE', `subject ${subject}: schema is incompatible under ${level}: ${check.messages.join('; ')}`, {
          details: { subject, level, messages: check.messages },
        })
      }
      const id = knownId ?? state.maxId + 1
      const version = state.nextVersion(subject)
      const event: RegistryEvent = { op: 'register', subject, version, id, ...(knownId === undefined ? { schema: text } : {}) }
      log.debug({ subject, version, schemaId: id }, 'schema registered')
      return { events: [event], result: { id, version } }
    })
  }

  async schemaById(id: number): Promise<string> {
    const known = this.#state.schemas.get(id)
    if (known !== undefined) return known
    await this.#refresh()
    return this.#state.schemaText(id)
  }

  async getVersion(subject: string, version: number | 'latest'): Promise<RegisteredSchema> {
    await this.#refresh()
    return this.#registered(subject, this.#state.liveVersion(subject, version))
  }

  async lookup(subject: string, schema: string | object): Promise<RegisteredSchema | undefined> {
    const text = canonicalSchema(schema)
    await this.#refresh()
    const id = this.#state.idsBySchema.get(text)
    const entry = this.#state.versions(subject).find((v) => v.id === id)
    return entry && this.#registered(subject, entry)
  }

  async listSubjects(): Promise<string[]> {
    await this.#refresh()
    return [...this.#state.subjects.keys()].filter((s) => this.#state.versions(s).length > 0).sort()
  }

  async listVersions(subject: string): Promise<number[]> {
    await this.#refresh()
    const live = this.#state.versions(subject)
    if (live.length === 0) throw subjectNotFound(subject)
    return live.map((v) => v.version)
  }

  async checkCompatibility(subject: string, schema: string | object, version?: number | 'latest'): Promise<CompatibilityResult> {
    const text = canonicalSchema(schema)
    await this.#refresh()
    const level = this.#state.levelOf(subject)
    const targets = version === undefined ? this.#state.versions(subject) : [this.#state.liveVersion(subject, version)]
    return checkLevel(level, text, this.#versioned(targets), this.#parsed)
  }

  async getCompatibility(subject?: string): Promise<CompatibilityLevel> {
    await this.#refresh()
    return this.#state.levelOf(subject)
  }

  async setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void> {
    if (!isCompatibilityLevel(level)) {
      throw new TributaryError('TRIB_REGISTRY_INVALID_COMPATIBILITY', `${subject ? `subject ${subject}: ` : ''}invalid compatibility level ${JSON.stringify(level)}`, {
        details: { subject, level },
      })
    }
    await this.#mutate(() => ({ events: [{ op: 'config', level, ...(subject === undefined ? {} : { subject }) }], result: undefined }))
  }

  async subjectCompatibility(subject: string): Promise<CompatibilityLevel | undefined> {
    await this.#refresh()
    return this.#state.subjectLevels.get(subject)
  }

  async deleteCompatibility(subject: string): Promise<CompatibilityLevel | undefined> {
    return this.#mutate((state) => {
      const previous = state.subjectLevels.get(subject)
      return { events: previous === undefined ? [] : [{ op: 'config', subject }], result: previous }
    })
  }

  async versionsOfId(id: number): Promise<Array<{ subject: string; version: number }>> {
    await this.#refresh()
    this.#state.schemaText(id)
    const out: Array<{ subject: string; version: number }> = []
    for (const subject of [...this.#state.subjects.keys()].sort()) {
      for (const v of this.#state.versions(subject)) if (v.id === id) out.push({ subject, version: v.version })
    }
    return out
  }

  async deleteSubject(subject: string, permanent = false): Promise<number[]> {
    return this.#mutate((state) => {
      const all = state.versions(subject, true)
      if (all.length === 0) throw subjectNotFound(subject)
      const live = all.filter((v) => !v.deleted)
      if (!permanent && live.length === 0) {
        throw new TributaryError('TRIB_REGISTRY_SUBJECT_SOFT_DELETED', `subject ${subject} was already soft-deleted`, { details: { subject } })
      }
      if (permanent && live.length > 0) {
        throw new TributaryError(
          'TRIB_REGISTRY_SUBJECT_NOT_SOFT_DELETED',
          `subject ${subject}: soft-delete it before deleting it permanently (live versions ${live.map((v) => v.version).join(', ')})`,
          { details: { subject } },
        )
      }
      const versions = (permanent ? all : live).map((v) => v.version)
      log.info({ subject, versions, permanent }, 'subject deleted')
      return { events: [{ op: 'delete', subject, versions, permanent, wholeSubject: true }], result: versions }
    })
  }

  async deleteVersion(subject: string, version: number | 'latest', permanent = false): Promise<number> {
    return this.#mutate((state) => {
      const all = state.versions(subject, true)
      if (all.length === 0) throw subjectNotFound(subject)
      let entry: VersionEntry | undefined
      if (version === 'latest') {
        entry = (permanent ? all : all.filter((v) => !v.deleted)).at(-1)
        if (!entry) throw subjectNotFound(subject)
      } else {
        checkVersionNumber(version, subject)
        entry = all.find((v) => v.version === version)
        if (!entry) throw versionNotFound(subject, version)
      }
      if (!permanent && entry.deleted) {
        throw new TributaryError('TRIB_REGISTRY_VERSION_SOFT_DELETED', `subject ${subject}: version ${entry.version} was already soft-deleted`, {
          details: { subject, version: entry.version },
        })
      }
      if (permanent && !entry.deleted) {
        throw new TributaryError(
          'TRIB_REGISTRY_VERSION_NOT_SOFT_DELETED',
          `subject ${subject}: soft-delete version ${entry.version} before deleting it permanently`,
          { details: { subject, version: entry.version } },
        )
      }
      log.info({ subject, version: entry.version, permanent }, 'version deleted')
      return { events: [{ op: 'delete', subject, versions: [entry.version], permanent }], result: entry.version }
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#queue.catch(() => undefined)
    this.#journal?.close()
    this.#owner?.dispose()
  }

  #registered(subject: string, entry: VersionEntry): RegisteredSchema {
    return { subject, version: entry.version, id: entry.id, schema: this.#state.schemaText(entry.id) }
  }

  #versioned(entries: readonly VersionEntry[]): Array<{ version: number; schema: string }> {
    return entries.map((v) => ({ version: v.version, schema: this.#state.schemaText(v.id) }))
  }

  // One journal access at a time within this process; the lock file covers other processes.
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new TributaryError('TRIB_REGISTRY_UNAVAILABLE', `embedded registry ${this.dir} is closed`, { details: { dir: this.dir } }))
    }
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => undefined)
    return run
  }

  #refresh(): Promise<void> {
    return this.#serial(async () => {
      if (this.#inMemory) return
      if (this.#journal === undefined && !this.#openJournal()) return
      if (this.#journal!.shrank()) throw registryCorrupt(`shrank below byte ${this.#journal!.position}, which was already read`, { file: this.#file, position: this.#journal!.size() })
      this.#apply(this.#journal!)
    })
  }

  /**
   * Under the lock, on a caught-up state: a dead writer's torn last line (its lock was taken over)
   * is cut; an unterminated line otherwise is damage. A file that does not exist yet is created with
   * its header line.
   */
  #mutate<T>(plan: (state: RegistryState) => { events: RegistryEvent[]; result: T }): Promise<T> {
    if (this.#inMemory) {
      return this.#serial(async () => {
        const { events, result } = plan(this.#state)
        for (const e of events) this.#state.apply(e)
        return result
      })
    }
    const owner = this.#owner
    if (owner === undefined) {
      return Promise.reject(new TributaryError('TRIB_USAGE', `embedded registry ${this.dir} was opened read-only: changes need a writable registry`, { details: { dir: this.dir } }))
    }
    return this.#serial(async () => {
      if (this.#broken !== undefined) throw this.#broken
      const { broke } = await acquireLock(this.#lockFile, owner, {
        timeoutMs: this.#lockTimeoutMs,
        maxHoldMs: MAX_HOLD_MS,
        timeoutError: (holder) =>
          new TributaryError('TRIB_REGISTRY_UNAVAILABLE', `${this.#lockFile}: lock held by ${describeHolder(holder)} for more than ${this.#lockTimeoutMs} ms`, {
            details: { file: this.#lockFile, pid: holder?.pid, host: holder?.host },
          }),
      })
      let journal: JournalFile
      try {
        journal = this.#journal !== undefined && this.#journal.size() > 0 ? this.#journal : this.#createJournal(broke)
        this.#apply(journal)
        this.#settleTail(journal, broke)
      } catch (e) {
        // A dead writer's lock goes back as it was: whoever repairs the damage still sees it died.
        if (broke === undefined) releaseLock(this.#lockFile, owner, { maxHoldMs: MAX_HOLD_MS })
        else restoreBrokenLock(this.#lockFile, owner, broke)
        throw e
      }
      let release = true
      try {
        const { events, result } = plan(this.#state)
        if (events.length > 0) {
          journal.append(events, true)
          for (const e of events) this.#state.apply(e)
        }
        return result
      } catch (e) {
        // A torn line this process could not take back: keep the lock until the process ends, so
        // the next writer finds a dead writer's torn line (cut) rather than damage.
        if (e instanceof UndoFailed) {
          release = false
          this.#broken = e
        }
        throw e
      } finally {
        if (release) releaseLock(this.#lockFile, owner, { maxHoldMs: MAX_HOLD_MS })
      }
    })
  }

  #settleTail(journal: JournalFile, broke: Holder | undefined): void {
    const tail = this.#tail()
    if (tail === undefined) return
    if (broke === undefined) throw registryCorrupt('ends in an unterminated line, and no writer died holding the lock: the file was cut or damaged', { file: this.#file, position: tail.from, end: tail.to })
    const cut = journal.cutTail()
    log.warn({ file: this.#file, bytes: cut, pid: broke.pid }, 'cut the torn last line of a writer that died')
  }

  #tail(): { from: number; to: number } | undefined {
    const j = this.#journal
    return j === undefined || j.unterminated === 0 ? undefined : { from: j.position, to: j.position + j.unterminated }
  }

  /** Opens the file when it exists (read-only, or for writing); false when there is none yet. */
  #openJournal(): boolean {
    try {
      this.#journal = JournalFile.open(this.#file, this.#readOnly ? 'read' : 'write', registryCorrupt)
      return true
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false
      throw e
    }
  }

  /**
   * A new registry file, created under the lock and started with its header line. An empty file
   * that exists is not new: it was cut, or its creator died before the header (then its lock was
   * taken over, and the header is written).
   */
  #createJournal(broke: Holder | undefined): JournalFile {
    let created = false
    try {
      fs.closeSync(fs.openSync(this.#file, 'wx'))
      created = true
      fsyncDir(this.dir)
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e
    }
    this.#openJournal()
    const journal = this.#journal!
    if (journal.size() === 0) {
      if (!created && broke === undefined) throw registryCorrupt('is empty although it exists: it was cut', { file: this.#file, position: 0, end: 0 })
      journal.append([{ op: 'init', format: 1 }], true)
      this.#state.apply({ op: 'init', format: 1 })
    }
    return journal
  }

  #apply(journal: JournalFile): void {
    journal.read((raw, where) => {
      this.#state.apply(asEvent(raw, `${this.#file} line ${where.line}`))
    })
  }
}
