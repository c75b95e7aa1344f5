import avro from 'avsc'
import type { Type } from 'avsc'
import { messageOf } from '../errors.ts'
import type { CompatibilityLevel } from './registry.ts'

/**
 * Schema compatibility as Confluent decides it: Avro schema resolution between a reader and a
 * writer schema, judged by avsc's resolver.
 *
 * How this lines up with Confluent (Avro Java's SchemaCompatibility):
 * - Logical types are ignored: schemas are parsed without them, so only the underlying types count
 *   (Java's checker also ignores them).
 * - Named types (record, enum, fixed) match by unqualified name or by a reader alias. avsc by default
 *   compares full names, which would reject a namespace-only change that Avro accepts ("both schemas
 *   are records with the same (unqualified) name"), so resolution runs with `ignoreNamespaces`.
 *   Remaining difference: avsc also unqualifies reader aliases, so an alias `a.X` matches a writer
 *   `b.X`, which Java rejects.
 * - Fields match by name or reader field alias; a reader field missing from the writer needs a
 *   default. Promotions: int -> long/float/double, long -> float/double, float -> double,
 *   string <-> bytes. An enum reads a writer with unknown symbols only when it has a default.
 *   Each branch of a writer union must be readable; a reader union reads a non-union writer when
 *   any of its branches does. Fixed sizes must be equal.
 */

export interface CompatibilityResult {
  compatible: boolean
  messages: string[]
}

export type SchemaInput = string | object | Type

export interface VersionedSchema {
  version: number
  schema: SchemaInput
}

const compatible = (): CompatibilityResult => ({ compatible: true, messages: [] })

/**
 * Parsed types by schema text, bounded: a transitive check parses every earlier version again
 * otherwise. Each check makes its own unless given one; a registry keeps one for its lifetime, so
 * nothing is shared between registries in one process.
 */
export class ParsedSchemas {
  static readonly MAX = 512
  readonly #types = new Map<string, Type>()

  typeOf(schema: SchemaInput): Type {
    // A Type may carry logical types or unwrapped unions; re-parse its schema so every check runs on
    // the same plain parse.
    const text =
      typeof schema === 'string'
        ? schema
        : JSON.stringify(avro.Type.isType(schema) ? (schema as Type).schema({ exportAttrs: true }) : schema)
    let type = this.#types.get(text)
    if (!type) {
      type = avro.Type.forSchema(parseText(text), { wrapUnions: true })
      if (this.#types.size >= ParsedSchemas.MAX) this.#types.delete(this.#types.keys().next().value as string)
      this.#types.set(text, type)
    }
    return type
  }
}

// Schema text is JSON, but a bare primitive name ('long') is accepted too.
function parseText(text: string): avro.Schema {
  try {
    return JSON.parse(text) as avro.Schema
  } catch {
    return text
  }
}

/** Whether data written with `writer` can be read with `reader`. */
export function canRead(reader: SchemaInput, writer: SchemaInput, parsed = new ParsedSchemas()): CompatibilityResult {
  try {
    parsed.typeOf(reader).createResolver(parsed.typeOf(writer), { ignoreNamespaces: true })
    return compatible()
  } catch (e) {
    return { compatible: false, messages: [shorten(messageOf(e))] }
  }
}

/**
 * Checks a candidate schema against the existing versions of a subject (oldest first) under a
 * level. Non-transitive levels look at the latest version only. Messages name the version.
 */
export function checkLevel(
  level: CompatibilityLevel,
  candidate: SchemaInput,
  existing: readonly VersionedSchema[],
  parsed = new ParsedSchemas(),
): CompatibilityResult {
  if (level === 'NONE' || existing.length === 0) return compatible()
  const transitive = level.endsWith('_TRANSITIVE')
  const targets = transitive ? existing : existing.slice(-1)
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL')
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL')
  const messages: string[] = []
  // Newest first: the most relevant message leads.
  for (const target of [...targets].reverse()) {
    if (backward) {
      const r = canRead(candidate, target.schema, parsed)
      for (const m of r.messages) messages.push(`${level}: the new schema cannot read data written with version ${target.version}: ${m}`)
    }
    if (forward) {
      const r = canRead(target.schema, candidate, parsed)
      for (const m of r.messages) messages.push(`${level}: version ${target.version} cannot read data written with the new schema: ${m}`)
    }
  }
  return messages.length === 0 ? compatible() : { compatible: false, messages }
}

// avsc prints whole types in some messages; a long record schema buries the point.
const shorten = (message: string): string => (message.length > 400 ? `${message.slice(0, 400)}…` : message)
