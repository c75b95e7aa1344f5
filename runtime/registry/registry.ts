import type { Reachability } from '../util/reachability.ts'

/**
 * A schema registry with Confluent semantics: subjects (`<topic>-value`, `<topic>-key`) hold
 * versions 1..n; every distinct schema gets a global id, stable forever; registration is checked
 * against the subject's compatibility level. Adapters: embedded (connectors/registry/embedded) and
 * remote Confluent-compatible (connectors/registry/confluent). Only Avro schemas are supported.
 *
 * Errors are TributaryErrors with the TRIB_REGISTRY_* codes, which map 1:1 to Confluent's error
 * codes (40401, 40402, 40403, 409, 42201, 42203).
 */

export const compatibilityLevels = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const
export type CompatibilityLevel = (typeof compatibilityLevels)[number]

export interface RegisteredSchema {
  id: number
  subject: string
  version: number
  /** Canonical JSON text of the Avro schema. */
  schema: string
}

export interface SchemaRegistry {
  /**
   * Registers a schema under a subject, or returns the existing id and version when the same
   * schema is already there. Throws TRIB_REGISTRY_INCOMPATIBLE when the subject's level forbids it.
   */
  register(subject: string, schema: string | object): Promise<{ id: number; version: number }>
  /** The schema text for a global id. Throws TRIB_REGISTRY_SCHEMA_NOT_FOUND. */
  schemaById(id: number): Promise<string>
  /** `version` is a number or 'latest'. */
  getVersion(subject: string, version: number | 'latest'): Promise<RegisteredSchema>
  /** The registered version of this exact schema under the subject, if any. */
  lookup(subject: string, schema: string | object): Promise<RegisteredSchema | undefined>
  listSubjects(): Promise<string[]>
  listVersions(subject: string): Promise<number[]>
  /** Checks against `version` (default: what the subject's level requires). */
  checkCompatibility(
    subject: string,
    schema: string | object,
    version?: number | 'latest',
  ): Promise<{ compatible: boolean; messages: string[] }>
  /** The level of a subject (falling back to global), or the global level when subject is absent. */
  getCompatibility(subject?: string): Promise<CompatibilityLevel>
  setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void>
  /** Soft delete (or permanent when asked); returns the deleted versions. */
  deleteSubject(subject: string, permanent?: boolean): Promise<number[]>
  deleteVersion(subject: string, version: number | 'latest', permanent?: boolean): Promise<number>
  /**
   * Optional, for a registry across the network: whether it answers now, for readiness. The first
   * call starts the watch (periodic and cheap), close() stops it; a registry of local files has no
   * such outage and no method.
   */
  health?(): Reachability
  close(): Promise<void>
}

export const valueSubject = (topic: string): string => `${topic}-value`
export const keySubject = (topic: string): string => `${topic}-key`
