import fs from 'node:fs'
import path from 'node:path'
import avro from 'avsc'
import { TributaryError } from '../errors.ts'

/** An Avro schema read from an .avsc file, known by its full name. */
export interface SchemaFile {
  fullName: string
  file: string
  schema: Record<string, unknown>
}

/**
 * The schemas a product can refer to: `.avsc` files in the given folders, by full name
 * (namespace.name). Each file holds one self-contained top-level named schema.
 */
export class SchemaCatalog {
  readonly #byName = new Map<string, SchemaFile>()

  constructor(readonly dirs: readonly string[]) {
    for (const dir of dirs) {
      if (!fs.existsSync(dir)) continue
      for (const entry of fs.readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort()) {
        const file = path.join(dir, entry)
        const loaded = readSchemaFile(file)
        const existing = this.#byName.get(loaded.fullName)
        // Earlier folders win: a product's own schemas/ overrides the project's.
        if (existing && path.dirname(existing.file) === dir)
          throw new TributaryError('TRIB_SCHEMA_INVALID', `${file}: ${loaded.fullName} is also defined in ${existing.file}`, {
            details: { file },
          })
        if (!existing) this.#byName.set(loaded.fullName, loaded)
      }
    }
  }

  all(): SchemaFile[] {
    return [...this.#byName.values()]
  }

  /** A reference is a full name, or a path (relative to `baseDir`) to an .avsc file. */
  resolve(ref: string, baseDir: string, where: string): SchemaFile {
    if (ref.endsWith('.avsc')) {
      const file = path.resolve(baseDir, ref)
      if (!fs.existsSync(file))
        throw new TributaryError('TRIB_SCHEMA_NOT_FOUND', `${where}: schema file ${file} does not exist`, { details: { file } })
      return readSchemaFile(file)
    }
    const found = this.#byName.get(ref)
    if (!found) {
      const known = [...this.#byName.keys()].sort().join(', ') || 'none'
      throw new TributaryError('TRIB_SCHEMA_NOT_FOUND', `${where}: no schema named "${ref}" in ${this.dirs.join(', ')} (known: ${known})`, {
        details: { ref },
      })
    }
    return found
  }
}

export function readSchemaFile(file: string): SchemaFile {
  let schema: unknown
  try {
    schema = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    throw new TributaryError('TRIB_SCHEMA_INVALID', `${file}: not valid JSON (${(e as Error).message})`, { cause: e, details: { file } })
  }
  if (!schema || typeof schema !== 'object' || Array.isArray(schema) || typeof (schema as { name?: unknown }).name !== 'string')
    throw new TributaryError('TRIB_SCHEMA_INVALID', `${file}: expected one named Avro schema (an object with "name")`, { details: { file } })
  try {
    avro.Type.forSchema(schema as avro.Schema, { wrapUnions: false })
  } catch (e) {
    throw new TributaryError('TRIB_SCHEMA_INVALID', `${file}: ${(e as Error).message}`, { cause: e, details: { file } })
  }
  const s = schema as { name: string; namespace?: string }
  const fullName = s.name.includes('.') || !s.namespace ? s.name : `${s.namespace}.${s.name}`
  return { fullName, file, schema: schema as Record<string, unknown> }
}

/** The schema folders for a product: its own schemas/, then the nearest ancestor's schemas/, then extras. */
export function schemaDirsFor(productDir: string, extra: readonly string[] = []): string[] {
  const dirs = [path.join(productDir, 'schemas')]
  for (let dir = path.dirname(path.resolve(productDir)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'schemas')
    if (fs.existsSync(candidate) && fs.statSync(candidate).isDirectory()) {
      dirs.push(candidate)
      break
    }
    if (path.dirname(dir) === dir) break
  }
  return [...new Set([...dirs, ...extra.map((d) => path.resolve(d))])]
}
