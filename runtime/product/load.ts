import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { TributaryError } from '../errors.ts'
import { findSpecFile, formatPath, readSpec, deepFreeze } from '../spec/load.ts'
import type { InputPortSpec, OutputPortSpec, ProductSpec } from '../spec/schema.ts'
import { SchemaCatalog, schemaDirsFor, type SchemaFile } from '../spec/schemas.ts'
import { fieldAt, isNullable, unwrapNullable } from '../spec/fields.ts'
import { partitionTransforms } from '../compactor/targets.ts'
import { tableRequest } from '../lake/iceberg/create.ts'
import type { TransformModule } from './transform.ts'
import { instanceName, majorOf, versionedTopic } from '../lifecycle/versions.ts'

export interface InputPort {
  readonly spec: InputPortSpec
  /** The reader schema; absent for Avro ports that read with the writer's schema. */
  readonly schema?: SchemaFile
}

export interface OutputPort {
  readonly spec: OutputPortSpec
  readonly schema: SchemaFile
  readonly keyFields: readonly string[]
}

/** A product folder, loaded and cross-checked: the spec plus its resolved schemas. Frozen. */
export interface Product {
  /**
   * The instance name, which everything the product owns is named after (group, state, topics,
   * tables): the spec's name for majors 0 and 1, `<name>.v<N>` from major 2 on (lifecycle/versions.ts).
   */
  readonly name: string
  /** The spec's name: the plain name its promoted major serves under. */
  readonly base: string
  readonly major: number
  /**
   * Set when the product runs in a dev environment (lifecycle/environments.ts): `name` and its
   * topics then carry `env.<name>.`, and `of` is the instance whose tables it branches.
   */
  readonly env?: { readonly name: string; readonly of: string }
  readonly dir: string
  readonly specFile: string
  readonly spec: ProductSpec
  readonly inputs: readonly InputPort[]
  readonly outputs: readonly OutputPort[]
  readonly transformFile: string
  readonly dlqTopic: string
}

export interface LoadOptions {
  /** Extra folders of .avsc files (after the product's own and its nearest ancestor's schemas/). */
  schemaDirs?: readonly string[]
}

export function loadProduct(dir: string, options: LoadOptions = {}): Product {
  const absDir = path.resolve(dir)
  if (!fs.existsSync(absDir) || !fs.statSync(absDir).isDirectory())
    throw new TributaryError('TRIB_PRODUCT_NOT_FOUND', `product folder ${dir} does not exist`, { details: { dir } })
  const specFile = findSpecFile(absDir)
  const declared = readSpec(specFile)
  const major = majorOf(declared.version)
  const name = instanceName(declared.name, major)
  // A new major writes its own topics (see versionedTopic): its consumers choose when to move.
  const spec: ProductSpec =
    major <= 1 ? declared : { ...declared, outputPorts: declared.outputPorts.map((p) => ({ ...p, topic: versionedTopic(declared.name, major, p.topic) })) }
  const catalog = new SchemaCatalog(schemaDirsFor(absDir, options.schemaDirs))
  const where = (at: Array<string | number>) => `${specFile} ${formatPath(at)}`

  const inputs = spec.inputPorts.map((p, i): InputPort => {
    const schema = p.schema ? catalog.resolve(p.schema, absDir, where(['inputPorts', i, 'schema'])) : undefined
    if (schema) {
      for (const field of Object.keys(p.contract?.fields ?? {})) requireField(schema, field, where(['inputPorts', i, 'contract', 'fields', field]))
      if (p.key) requireField(schema, p.key, where(['inputPorts', i, 'key']))
    }
    return { spec: p, ...(schema ? { schema } : {}) }
  })

  const outputs = spec.outputPorts.map((p, i): OutputPort => {
    const schema = catalog.resolve(p.schema, absDir, where(['outputPorts', i, 'schema']))
    const keyFields = p.key === undefined ? [] : Array.isArray(p.key) ? p.key : [p.key]
    for (const k of keyFields) requireField(schema, k, where(['outputPorts', i, 'key']))
    for (const field of Object.keys(p.contract?.fields ?? {})) requireField(schema, field, where(['outputPorts', i, 'contract', 'fields', field]))
    for (const [field, action] of Object.entries(p.policies?.pii ?? {}))
      checkPolicyField(schema, field, action, where(['outputPorts', i, 'policies', 'pii', field]))
    const snap = p.snapshot
    if (snap) {
      const q = snap.quality
      const fields = [
        ...(q?.notNull ?? []),
        ...Object.keys(q?.acceptedValues ?? {}),
        ...Object.keys(q?.range ?? {}),
        ...(q?.freshness ? [q.freshness.field] : []),
        ...(snap.partitionBy && 'day' in snap.partitionBy ? [snap.partitionBy.day] : []),
        ...(snap.partitionBy && 'hour' in snap.partitionBy ? [snap.partitionBy.hour] : []),
      ]
      for (const f of fields) requireField(schema, f, where(['outputPorts', i, 'snapshot']))
      checkTable({ spec: p, keyFields }, schema, where(['outputPorts', i, 'snapshot']))
    }
    return { spec: p, schema, keyFields }
  })
  checkSharedTopics(outputs.map((o, i) => ({ ...o, product: spec.name, where: where(['outputPorts', i, 'topic']) })))

  for (const [port, a] of Object.entries(spec.access?.outputPorts ?? {})) {
    const out = outputs.find((o) => o.spec.name === port)
    a.readerPolicies?.forEach((variant, i) => {
      for (const [field, action] of Object.entries(variant.pii)) {
        const at = where(['access', 'outputPorts', port, 'readerPolicies', i, 'pii', field])
        if (out) checkPolicyField(out.schema, field, action, at)
        // Keys are not rewritten on the read paths, so a key field would show through.
        if (out?.keyFields.some((k) => k === field || k.startsWith(`${field}.`)))
          throw new TributaryError('TRIB_SPEC_INVALID', `${at}: ${field} is part of the key of ${port}, which readers see unchanged`, { details: { field } })
      }
    })
  }

  const transformFile = path.resolve(absDir, spec.transform)
  if (!fs.existsSync(transformFile))
    throw new TributaryError('TRIB_TRANSFORM_INVALID', `${where(['transform'])}: ${transformFile} does not exist`, {
      details: { file: transformFile },
    })

  return deepFreeze({ name, base: spec.name, major, dir: absDir, specFile, spec, inputs, outputs, transformFile, dlqTopic: `${name}.dlq` })
}

/**
 * The port's table, as the compactor will create it: an Iceberg schema for the Avro schema (with
 * the key as identifier fields for upserts) and the partition transforms on it. Checked at load,
 * so `validate` refuses what `run` would fail on when the table is made.
 */
function checkTable(port: Pick<OutputPort, 'spec' | 'keyFields'>, schema: SchemaFile, where: string): void {
  try {
    tableRequest({
      avroSchema: schema.schema,
      partitionBy: partitionTransforms(port),
      ...(port.spec.snapshot?.mode === 'upsert' ? { identifierFields: [...port.keyFields] } : {}),
    })
  } catch (e) {
    if (!(e instanceof TributaryError)) throw e
    throw new TributaryError('TRIB_SPEC_INVALID', `${where}: the lake table cannot be made from schema ${schema.fullName}: ${e.message}`, { cause: e, details: { ...e.details } })
  }
}

/** A topic has one value schema and one key: every port writing it (in one product or several) must agree. */
export function checkSharedTopics(ports: ReadonlyArray<OutputPort & { product: string; where: string }>): void {
  const first = new Map<string, OutputPort & { product: string; where: string }>()
  for (const port of ports) {
    const earlier = first.get(port.spec.topic)
    if (earlier === undefined) {
      first.set(port.spec.topic, port)
      continue
    }
    const same = earlier.schema.fullName === port.schema.fullName && JSON.stringify(earlier.schema.schema) === JSON.stringify(port.schema.schema)
    const sameKey = earlier.keyFields.join(',') === port.keyFields.join(',')
    if (!same || !sameKey) {
      const what = !same ? `schema ${port.schema.fullName} (${port.schema.file}) where ${earlier.product} port ${earlier.spec.name} writes ${earlier.schema.fullName} (${earlier.schema.file})` : `key [${port.keyFields.join(', ')}] where ${earlier.product} port ${earlier.spec.name} uses [${earlier.keyFields.join(', ')}]`
      throw new TributaryError('TRIB_SPEC_INVALID', `${port.where}: port ${port.spec.name} writes topic ${port.spec.topic} with ${what}; a topic has one schema and one key`, {
        details: { topic: port.spec.topic },
      })
    }
  }
}

function requireField(schema: SchemaFile, field: string, where: string): void {
  if (!fieldAt(schema.schema, field))
    throw new TributaryError('TRIB_SPEC_INVALID', `${where}: field "${field}" is not in schema ${schema.fullName} (${schema.file})`, {
      details: { field, schema: schema.fullName },
    })
}

/** hash and mask produce strings; drop produces null. The output schema must accept that. */
export function checkPolicyField(schema: SchemaFile, field: string, action: string, where: string): void {
  requireField(schema, field, where)
  const f = fieldAt(schema.schema, field)!
  const base = unwrapNullable(f.type)
  const isString = base === 'string' || (typeof base === 'object' && !Array.isArray(base) && base.type === 'string')
  if (action === 'drop' ? !isNullable(f.type) : !isString)
    throw new TributaryError(
      'TRIB_SPEC_INVALID',
      `${where}: "${action}" needs ${action === 'drop' ? 'a nullable field' : 'a string field'}, but ${field} is ${JSON.stringify(f.type)}`,
      { details: { field } },
    )
}

/** Imports transform.ts (TypeScript runs through tsx, no build step) and checks its exports. */
export async function loadTransform(product: Product): Promise<TransformModule> {
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(product.transformFile).href)) as Record<string, unknown>
  } catch (e) {
    throw new TributaryError('TRIB_TRANSFORM_INVALID', `${product.transformFile}: failed to load (${(e as Error).message})`, {
      cause: e,
      details: { file: product.transformFile },
    })
  }
  const transform = typeof mod.default === 'function' ? mod.default : mod.transform
  if (typeof transform !== 'function')
    throw new TributaryError(
      'TRIB_TRANSFORM_INVALID',
      `${product.transformFile}: must export a transform function (export default defineTransform(...) or export function transform)`,
      { details: { file: product.transformFile } },
    )
  if (mod.init !== undefined && typeof mod.init !== 'function')
    throw new TributaryError('TRIB_TRANSFORM_INVALID', `${product.transformFile}: export "init" must be a function`, {
      details: { file: product.transformFile },
    })
  return { transform: transform as TransformModule['transform'], ...(mod.init ? { init: mod.init as TransformModule['init'] } : {}) }
}
