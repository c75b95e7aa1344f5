import { TributaryError } from '../../../runtime/errors.ts'
import { type CompatibilityLevel, compatibilityLevels } from '../../../runtime/registry/registry.ts'

/**
 * The registry as a fold over its journal events. Pure: no I/O, so the same events give the same
 * state in every process that reads the file.
 *
 * Confluent semantics kept here: a schema's id never changes and is never reused, even after its
 * versions are deleted (so old data still decodes); version numbers only grow, except that a
 * subject whose versions were all permanently deleted starts again at 1; a soft-deleted version
 * is hidden from reads and compatibility checks but still counts for numbering.
 */

export type RegistryEvent =
  | { op: 'init'; format: 1 }
  /** `schema` is present when `id` is new. */
  | { op: 'register'; subject: string; version: number; id: number; schema?: string }
  /** `subject`: the whole subject was soft-deleted, which also drops its compatibility level. */
  | { op: 'delete'; subject: string; versions: number[]; permanent: boolean; wholeSubject?: boolean }
  /** No `subject`: the global level. No `level`: remove the subject's level. */
  | { op: 'config'; subject?: string; level?: CompatibilityLevel }
  /**
   * Ids up to `id` are taken, whatever the lines before say: written by `tributary doctor --repair`
   * in place of damaged lines, whose ids must never be given again.
   */
  | { op: 'reserve'; id: number; reason?: string }

export interface VersionEntry {
  version: number
  id: number
  deleted: boolean
}

export const DEFAULT_LEVEL: CompatibilityLevel = 'BACKWARD'

export class RegistryState {
  readonly schemas = new Map<number, string>()
  readonly idsBySchema = new Map<string, number>()
  /** Per subject, versions in ascending order. */
  readonly subjects = new Map<string, VersionEntry[]>()
  readonly subjectLevels = new Map<string, CompatibilityLevel>()
  globalLevel: CompatibilityLevel = DEFAULT_LEVEL
  maxId = 0

  apply(event: RegistryEvent): void {
    switch (event.op) {
      case 'init':
        return
      case 'register': {
        if (event.schema !== undefined) {
          this.schemas.set(event.id, event.schema)
          this.idsBySchema.set(event.schema, event.id)
          this.maxId = Math.max(this.maxId, event.id)
        }
        const versions = this.subjects.get(event.subject) ?? []
        versions.push({ version: event.version, id: event.id, deleted: false })
        this.subjects.set(event.subject, versions)
        return
      }
      case 'delete': {
        const versions = this.subjects.get(event.subject) ?? []
        const hit = new Set(event.versions)
        if (event.permanent) {
          const kept = versions.filter((v) => !hit.has(v.version))
          if (kept.length === 0) this.subjects.delete(event.subject)
          else this.subjects.set(event.subject, kept)
        } else {
          for (const v of versions) if (hit.has(v.version)) v.deleted = true
          if (event.wholeSubject) this.subjectLevels.delete(event.subject)
        }
        return
      }
      case 'reserve':
        this.maxId = Math.max(this.maxId, event.id)
        return
      case 'config':
        if (event.subject === undefined) this.globalLevel = event.level ?? DEFAULT_LEVEL
        else if (event.level === undefined) this.subjectLevels.delete(event.subject)
        else this.subjectLevels.set(event.subject, event.level)
        return
    }
  }

  /** Versions of a subject, soft-deleted ones only when asked. */
  versions(subject: string, includeDeleted = false): VersionEntry[] {
    const all = this.subjects.get(subject) ?? []
    return includeDeleted ? all : all.filter((v) => !v.deleted)
  }

  /** A live version of a subject; throws 40401 / 40402 / 42202 like Confluent. */
  liveVersion(subject: string, version: number | 'latest'): VersionEntry {
    const live = this.versions(subject)
    if (live.length === 0) throw subjectNotFound(subject)
    if (version === 'latest') return live[live.length - 1] as VersionEntry
    checkVersionNumber(version, subject)
    const found = live.find((v) => v.version === version)
    if (!found) throw versionNotFound(subject, version)
    return found
  }

  nextVersion(subject: string): number {
    const all = this.versions(subject, true)
    return all.length === 0 ? 1 : (all[all.length - 1] as VersionEntry).version + 1
  }

  schemaText(id: number): string {
    const text = this.schemas.get(id)
    if (text === undefined) throw new TributaryError('TRIB_REGISTRY_SCHEMA_NOT_FOUND', `schema id ${id} not found`, { details: { id } })
    return text
  }

  levelOf(subject?: string): CompatibilityLevel {
    return (subject === undefined ? undefined : this.subjectLevels.get(subject)) ?? this.globalLevel
  }
}

/** Checks the shape of an event read back from the journal. */
export function asEvent(value: unknown, where: string): RegistryEvent {
  const e = value as Partial<Record<string, unknown>> | null
  const ok =
    e !== null &&
    typeof e === 'object' &&
    ((e.op === 'init' && e.format === 1) ||
      (e.op === 'register' && typeof e.subject === 'string' && Number.isInteger(e.version) && Number.isInteger(e.id)) ||
      (e.op === 'delete' && typeof e.subject === 'string' && Array.isArray(e.versions) && typeof e.permanent === 'boolean') ||
      (e.op === 'config' && (e.level === undefined || isCompatibilityLevel(e.level))) ||
      (e.op === 'reserve' && Number.isSafeInteger(e.id)))
  if (!ok) {
    throw new TributaryError('TRIB_REGISTRY_CORRUPT', `${where}: unknown or malformed event ${JSON.stringify(value).slice(0, 200)}`, {
      details: { where },
    })
  }
  return value as RegistryEvent
}

export const isCompatibilityLevel = (value: unknown): value is CompatibilityLevel =>
  typeof value === 'string' && (compatibilityLevels as readonly string[]).includes(value)

export function checkVersionNumber(version: number, subject: string): void {
  if (!Number.isInteger(version) || version < 1 || version > 0x7fffffff) {
    throw new TributaryError(
      'TRIB_REGISTRY_INVALID_VERSION',
      `subject ${subject}: version ${version} is invalid; use a positive integer or "latest"`,
      { details: { subject, version } },
    )
  }
}

export const subjectNotFound = (subject: string): TributaryError =>
  new TributaryError('TRIB_REGISTRY_SUBJECT_NOT_FOUND', `subject ${subject} not found`, { details: { subject } })

export const versionNotFound = (subject: string, version: number): TributaryError =>
  new TributaryError('TRIB_REGISTRY_VERSION_NOT_FOUND', `subject ${subject}: version ${version} not found`, {
    details: { subject, version },
  })
