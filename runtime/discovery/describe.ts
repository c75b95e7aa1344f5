import { snapshotTargets } from '../compactor/targets.ts'
import { isTributaryError, messageOf } from '../errors.ts'
import { MAIN_BRANCH, type Catalog, type SnapshotId } from '../lake/index.ts'
import { lineage } from '../product/mesh.ts'
import type { Product } from '../product/load.ts'
import { parseDuration } from '../util/duration.ts'
import { avroToJsonSchema } from './json-schema.ts'
import { maxOf } from '../util/arrays.ts'

/** The latest published snapshot of a lake table; `error` when the table cannot be read (the rest is then empty). */
export interface TableStatus {
  table: string
  snapshotId: SnapshotId | null
  publishedAt: string | null
  rows: number
  error?: { code: string; message: string }
}

/** What a running service knows that the spec does not: live counts, last output time. */
export interface LiveStatus {
  recordsIn: number
  deadLetters: number
  lastOutputAt: number
}

export interface SloStatus {
  target: string | number
  current: string | number | null
  ok: boolean | null
}

/**
 * The discovery port's view of a product: identity, ports with their schemas (Avro and JSON
 * Schema), SLOs with their current status, lineage across the mesh, and the latest snapshot of each
 * of its lake tables.
 */
export async function describeProduct(product: Product, mesh: readonly Product[], options: { catalog: Catalog; live?: LiveStatus; now?: number }) {
  const { spec } = product
  const edges = lineage(mesh)
  const tables = await tableStatuses(product, options.catalog)
  const now = options.now ?? Date.now()
  return {
    name: spec.name,
    version: spec.version,
    domain: spec.domain,
    description: spec.description.trim(),
    owner: spec.owner,
    tags: spec.tags,
    inputPorts: product.inputs.map((p) => ({
      name: p.spec.name,
      description: p.spec.description ?? null,
      topic: p.spec.topic,
      format: p.spec.format,
      envelope: p.spec.envelope,
      mode: p.spec.mode,
      schema: p.schema ? { name: p.schema.fullName, avro: p.schema.schema, jsonSchema: avroToJsonSchema(p.schema.schema) } : null,
      contract: p.spec.contract ?? null,
      upstream: edges.filter((e) => e.to.product === product.name && e.to.port === p.spec.name).map((e) => e.from),
    })),
    outputPorts: product.outputs.map((p) => ({
      name: p.spec.name,
      description: p.spec.description ?? null,
      topic: p.spec.topic,
      key: p.keyFields,
      partitions: p.spec.partitions,
      schema: { name: p.schema.fullName, avro: p.schema.schema, jsonSchema: avroToJsonSchema(p.schema.schema) },
      contract: p.spec.contract ?? null,
      policies: p.spec.policies?.pii ?? {},
      snapshot: p.spec.snapshot ?? null,
      table: tables.find((t) => t.table === `${product.name}.${p.spec.name}`) ?? null,
      downstream: edges.filter((e) => e.from.product === product.name && e.from.port === p.spec.name).map((e) => e.to),
      tags: p.spec.tags,
    })),
    deadLetters: { topic: product.dlqTopic, table: tables.find((t) => t.table === `${product.name}.dlq`) ?? null },
    slos: sloStatus(product, tables, options.live, now),
    lineage: {
      upstream: unique(edges.filter((e) => e.to.product === product.name).map((e) => e.from.product)),
      downstream: unique(edges.filter((e) => e.from.product === product.name).map((e) => e.to.product)),
    },
    tables,
  }
}

export type ProductDescription = Awaited<ReturnType<typeof describeProduct>>

const unique = (xs: string[]): string[] => [...new Set(xs)]

/** One entry per table that exists; a table that cannot be read keeps its error to itself. */
async function tableStatuses(product: Product, catalog: Catalog): Promise<TableStatus[]> {
  const out: TableStatus[] = []
  for (const t of snapshotTargets(product)) {
    try {
      const table = await catalog.loadTable(t.identifier)
      const main = table.snapshot({ ref: MAIN_BRANCH })
      const summary = (main?.summary ?? {}) as Record<string, string>
      const logged = table.metadata['snapshot-log'].filter((e) => e['snapshot-id'] === main?.['snapshot-id']).at(-1)
      out.push({
        table: t.name,
        snapshotId: main?.['snapshot-id'] ?? null,
        publishedAt: logged ? new Date(logged['timestamp-ms']).toISOString() : null,
        rows: Number(summary['total-records'] ?? 0) - Number(summary['total-position-deletes'] ?? 0),
      })
    } catch (e) {
      if (isTributaryError(e, 'TRIB_LAKE_NOT_FOUND') || isTributaryError(e, 'TRIB_LAKE_SNAPSHOT_NOT_FOUND')) continue
      out.push({ table: t.name, snapshotId: null, publishedAt: null, rows: 0, error: { code: isTributaryError(e) ? e.code : 'TRIB_INTERNAL', message: messageOf(e) } })
    }
  }
  return out
}

/** Freshness: age of the newest published snapshot (else of the last output); validity: valid share of inputs. */
function sloStatus(product: Product, tables: TableStatus[], live: LiveStatus | undefined, now: number): Record<string, SloStatus> {
  const out: Record<string, SloStatus> = {}
  const { freshness, validity } = product.spec.slos
  if (freshness) {
    const published = tables.filter((t) => !t.table.endsWith('.dlq') && t.publishedAt).map((t) => Date.parse(t.publishedAt!))
    const newest = published.length > 0 ? maxOf(published) : live?.lastOutputAt || undefined
    const age = newest === undefined ? null : Math.max(0, now - newest)
    out.freshness = { target: freshness, current: age === null ? null : `${Math.round(age / 1000)}s`, ok: age === null ? null : age <= parseDuration(freshness)! }
  }
  if (validity !== undefined) {
    const share = live && live.recordsIn > 0 ? ((live.recordsIn - live.deadLetters) / live.recordsIn) * 100 : null
    out.validity = { target: validity, current: share === null ? null : Number(share.toFixed(2)), ok: share === null ? null : share >= validity }
  }
  return out
}

