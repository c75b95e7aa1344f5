/**
 * Additive schema evolution (`evolution: additive` on a port): a record schema gains the fields a
 * newer schema brings, each optional (`["null", T]`, default null), at the end, in the order they
 * came. Nothing else changes: a field both have keeps the base's type, and a field the newer
 * schema lacks stays (null when absent, or refused by the usual resolution when required).
 *
 * Pure logic: the ports (decoders, the output encoder, the lake's compactor) say where the newer
 * fields come from and what a refusal's error code is.
 */
import type { Type } from 'avsc'
import { TributaryError, type ErrorCode } from '../../errors.ts'
import { createType } from './logical-types.ts'

/** An Avro record schema as JSON. */
export interface RecordSchema {
  type: 'record'
  name: string
  namespace?: string
  fields: SchemaField[]
  [attribute: string]: unknown
}

export interface SchemaField {
  name: string
  type: unknown
  default?: unknown
  doc?: string
  [attribute: string]: unknown
}

export interface Additions {
  /** The base with the new fields, or the base itself (the same object) when nothing is new. */
  schema: RecordSchema
  /** The fields added, as they are in `schema`. */
  added: SchemaField[]
}

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** `T` as an optional field's type: `["null", T]` (null first, so the default may be null); a union keeps its branches. */
export function optionalType(type: unknown): unknown[] {
  const branches = Array.isArray(type) ? type : [type]
  return ['null', ...branches.filter((b) => b !== 'null')]
}

/** A type with its null branch taken off, in one comparable text (attributes in key order). */
function canonicalNonNull(type: unknown): string {
  const branches = (Array.isArray(type) ? type : [type]).filter((b) => b !== 'null')
  return stableText(branches.length === 1 ? branches[0] : branches)
}

function stableText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableText).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o).filter((k) => k !== 'doc' && k !== 'default').sort().map((k) => `${JSON.stringify(k)}:${stableText(o[k])}`).join(',')}}`
  }
  return JSON.stringify(v)
}

/**
 * `base` plus every field of `incoming` it lacks, as optional fields. With `checkShared`, a field
 * both have must have the same type, nullability aside (a type change is not additive): otherwise
 * TributaryError `code` naming the field. A new field whose name Avro cannot hold is refused the
 * same way. Never changes `base`.
 */
export function addFields(base: RecordSchema, incoming: ReadonlyArray<{ name: string; type: unknown }>, options: { code: ErrorCode; where: string; checkShared?: boolean }): Additions {
  const have = new Map(base.fields.map((f) => [f.name, f]))
  const added: SchemaField[] = []
  for (const f of incoming) {
    const existing = have.get(f.name)
    if (existing) {
      if (options.checkShared && canonicalNonNull(existing.type) !== canonicalNonNull(f.type))
        throw new TributaryError(options.code, `${options.where}: field ${f.name} changed type from ${JSON.stringify(existing.type)} to ${JSON.stringify(f.type)}; evolution: additive adds fields only`, {
          details: { field: f.name },
        })
      continue
    }
    if (!AVRO_NAME.test(f.name))
      throw new TributaryError(options.code, `${options.where}: new field ${JSON.stringify(f.name)} is not a valid Avro name`, { details: { field: f.name } })
    const field: SchemaField = { name: f.name, type: optionalType(f.type), default: null }
    have.set(f.name, field)
    added.push(field)
  }
  return added.length === 0 ? { schema: base, added } : { schema: { ...base, fields: [...base.fields, ...added] }, added }
}

/** The record fields of a schema given as JSON text or object (a record at the top, as ports have). */
export function recordOf(schema: unknown, what: string): RecordSchema {
  const s = typeof schema === 'string' ? (JSON.parse(schema) as unknown) : schema
  if (s === null || typeof s !== 'object' || Array.isArray(s) || (s as RecordSchema).type !== 'record' || !Array.isArray((s as RecordSchema).fields))
    throw new TributaryError('TRIB_SCHEMA_INVALID', `${what} is not an Avro record schema`)
  return s as RecordSchema
}

/**
 * One port's reader under `evolution: additive`: the declared record plus the columns its writers
 * add, per writer. `added` holds every column added so far with its (optional) type: the output
 * ports that follow the port type the same columns with it. A column two writers give different
 * types is refused (TRIB_DECODE_INCOMPATIBLE, naming it): neither the outputs nor the lake could
 * hold both. Owned by one decoder; callers cache `readerFor` per writer schema.
 */
export class ReaderEvolution {
  readonly declared: RecordSchema
  readonly #added = new Map<string, unknown>()
  readonly #names: ReadonlySet<string>

  constructor(declared: unknown) {
    this.declared = recordOf(declared, "the port's reader schema")
    this.#names = new Set(this.declared.fields.map((f) => f.name))
  }

  /** Columns added so far, by name, with their optional types. */
  get added(): ReadonlyMap<string, unknown> {
    return this.#added
  }

  /** Whether the declared reader has this column. */
  declares(name: string): boolean {
    return this.#names.has(name)
  }

  /**
   * The reader for a writer with these columns (name and reader type; only those the declared
   * reader lacks matter, so callers may type just those): its schema and avsc type, the declared
   * schema itself when nothing is added.
   */
  readerFor(columns: ReadonlyArray<{ name: string; type: unknown }>, where: string): { schema: RecordSchema; type: Type; added: SchemaField[] } {
    const { schema, added } = addFields(this.declared, columns, { code: 'TRIB_DECODE_INCOMPATIBLE', where })
    for (const f of added) {
      const known = this.#added.get(f.name)
      if (known !== undefined && canonicalNonNull(known) !== canonicalNonNull(f.type))
        throw new TributaryError('TRIB_DECODE_INCOMPATIBLE', `${where}: column ${f.name} came as ${JSON.stringify(known)} and now as ${JSON.stringify(f.type)}; evolution: additive adds columns, it does not change their types`, {
          details: { field: f.name },
        })
    }
    for (const f of added) this.#added.set(f.name, f.type)
    return { schema, type: createType(schema), added }
  }
}
