import fs from 'node:fs/promises'
import path from 'node:path'
import { TributaryError } from '../../../runtime/errors.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import { canonicalSchema } from '../../../runtime/registry/canonical.ts'
import { type CompatibilityResult, checkLevel } from '../../../runtime/registry/compatibility.ts'
import type { CompatibilityLevel, RegisteredSchema, SchemaRegistry } from '../../../runtime/registry/registry.ts'
import { Journal } from './journal.ts'
import { acquireLock } from './lock.ts'
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
 * (`registry.jsonl`), shared safely by every process that opens the same folder. Each change
 * takes the folder's lock file, reads what other processes appended, decides (ids, versions,
 * compatibility) on that fresh state, and appends one line. Reads pick up other processes' changes
 * without the lock.
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
}

const log = moduleLogger('registry')
const JOURNAL = 'registry.jsonl'
const LOCK = 'registry.lock'

export async function openEmbeddedRegistry(options: EmbeddedRegistryOptions): Promise<EmbeddedRegistry> {
  await fs.mkdir(options.dir, { recursive: true })
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
  readonly #journal: Journal
  readonly #lockFile: string
  readonly #lockTimeoutMs: number | undefined
  readonly #state = new RegistryState()
  /** Events live only in #state: no journal file, no lock. */
  readonly #inMemory: boolean
  #queue: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(options: EmbeddedRegistryOptions, inMemory = false) {
    this.#inMemory = inMemory
    this.dir = options.dir
    this.#journal = new Journal(path.join(options.dir, JOURNAL))
    this.#lockFile = path.join(options.dir, LOCK)
    this.#lockTimeoutMs = options.lockTimeoutMs
  }

  async init(): Promise<void> {
    if (this.#inMemory) return this.#state.apply({ op: 'init', format: 1 })
    await this.#journal.ensure()
    // Under the lock: truncates a torn tail left by a crash, and writes the header of a new file.
    await this.#mutate(() => ({ events: this.#journal.offset === 0 ? [{ op: 'init', format: 1 }] : [], result: undefined }))
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
      const check = checkLevel(level, text, this.#versioned(live))
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
    return checkLevel(level, text, this.#versioned(targets))
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
      if (!this.#inMemory) this.#apply(await this.#journal.read('reader'))
    })
  }

  #mutate<T>(plan: (state: RegistryState) => { events: RegistryEvent[]; result: T }): Promise<T> {
    return this.#serial(async () => {
      if (this.#inMemory) {
        const { events, result } = plan(this.#state)
        for (const e of events) this.#state.apply(e)
        return result
      }
      const release = await acquireLock(this.#lockFile, { timeoutMs: this.#lockTimeoutMs })
      try {
        this.#apply(await this.#journal.read('writer'))
        const { events, result } = plan(this.#state)
        if (events.length > 0) {
          await this.#journal.append(events)
          for (const e of events) this.#state.apply(e)
        }
        return result
      } finally {
        await release()
      }
    })
  }

  #apply(events: unknown[]): void {
    for (const raw of events) this.#state.apply(asEvent(raw, this.#journal.file))
  }
}
