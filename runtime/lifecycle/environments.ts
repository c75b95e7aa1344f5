import fs from 'node:fs'
import path from 'node:path'
import { OFFSETS_PROPERTY, TOPIC_PROPERTY } from '../compactor/compactor.ts'
import { envBranch, snapshotTargets, type SnapshotTarget } from '../compactor/targets.ts'
import { TributaryError, isTributaryError } from '../errors.ts'
import { formatIdentifier, MAIN_BRANCH, type SnapshotId, type TableIdentifier } from '../lake/index.ts'
import { parseExact } from '../codec/json/exact.ts'
import { writeJson } from '../codec/json/write.ts'
import { readToEnd, type OutgoingRecord, type PartitionOffset } from '../log/log.ts'
import { moduleLogger } from '../logger.ts'
import { ensureOutputs } from '../processor/processor.ts'
import type { Product } from '../product/load.ts'
import type { Runtime } from '../runtime.ts'
import { deepFreeze } from '../spec/load.ts'

/**
 * Dev environments, after lakeFS': a product runs in environment `<env>` as a fork of main as main
 * is when the environment is made, isolated from main and from other environments. It reads the
 * same inputs as main, from main's position (its consumer group starts at main's offsets), with a
 * copy of main's state (`ctx.state`, from main's changelog); it writes its own topics
 * (`env.<env>.<topic>`: outputs, dead letters, changelog) and commits to branches of its tables
 * (`env.<env>.audit`, published to `env.<env>` when the audit passes), made at main's snapshots.
 *
 * `merge` fast-forwards main to the environment: only when every table's last audit there passed
 * and main has not moved since the fork (same group offsets, topic ends and snapshots); then main's
 * topics get the environment's records appended and main's group its offsets (one commit), and
 * main's tables move to the environment's audited snapshots. Main continues from there as if it
 * had run the environment's code. `drop` deletes the environment: topics, group, state, branches.
 *
 * What an environment is lives in the log (`_tributary.environments`, compacted), one record per
 * product and environment (`<env>/<instance>`), so every process sees it.
 */
export const ENVIRONMENTS_TOPIC = '_tributary.environments'

const logger = moduleLogger('environments')
const NAME = /^[a-z][a-z0-9-]{0,30}$/

export function checkEnvName(name: string): string {
  if (!NAME.test(name)) throw new TributaryError('TRIB_USAGE', `environment ${JSON.stringify(name)}: use lowercase letters, digits and dashes, starting with a letter (at most 31)`)
  return name
}

const prefix = (env: string): string => `env.${env}.`

/** The product as it runs in an environment: same inputs, its own group, state and topics, its tables on the environment's branches. */
export function inEnvironment(product: Product, env: string): Product {
  const p = prefix(env)
  const outputs = product.outputs.map((o) => ({ ...o, spec: { ...o.spec, topic: `${p}${o.spec.topic}` } }))
  return deepFreeze({
    ...product,
    name: `${p}${product.name}`,
    env: { name: env, of: product.name },
    spec: { ...product.spec, outputPorts: outputs.map((o) => o.spec) },
    outputs,
    dlqTopic: `${p}${product.dlqTopic}`,
  })
}

export interface EnvironmentRecord {
  env: string
  /** The main instance the environment forks. */
  product: string
  createdAt: string
  /** What main was at the fork; merge requires it unchanged. */
  fork: {
    offsets: PartitionOffset[]
    /** End offsets per partition of main's outputs, dead letters and changelog. */
    ends: Record<string, number[]>
    /** Main's snapshot per table (null: no main snapshot). */
    tables: Array<{ identifier: TableIdentifier; main: SnapshotId | null }>
  }
  /** The environment's own topics (what drop deletes). */
  topics: string[]
  mergedAt?: string
}

export async function readEnvironments(runtime: Runtime): Promise<Map<string, EnvironmentRecord>> {
  const out = new Map<string, EnvironmentRecord>()
  for (const r of await readToEnd(runtime.log, ENVIRONMENTS_TOPIC)) {
    const key = r.key?.toString('utf8') ?? ''
    if (r.value === null) out.delete(key)
    else out.set(key, parseExact(r.value.toString('utf8')) as EnvironmentRecord)
  }
  return out
}

async function writeRecord(runtime: Runtime, key: string, value: EnvironmentRecord | null): Promise<void> {
  await runtime.log.ensureTopic(ENVIRONMENTS_TOPIC, { partitions: 1, compacted: true })
  await runtime.log.append([{ topic: ENVIRONMENTS_TOPIC, partition: 0, key: Buffer.from(key), value: value === null ? null : Buffer.from(writeJson(value)) }])
}

const changelogOf = (p: Product): string => `${p.name}.changelog`
const ownTopics = (p: Product): string[] => [...p.outputs.map((o) => o.spec.topic), p.dlqTopic, changelogOf(p)]

async function ends(runtime: Runtime, topics: readonly string[]): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {}
  for (const t of topics) out[t] = ((await runtime.log.describeTopic(t))?.partitions ?? []).map((p) => p.end)
  return out
}

const tableTargets = (p: Product): SnapshotTarget[] => snapshotTargets(p)

/**
 * The product in environment `env`, forking main first if the environment does not have it yet:
 * its group at main's offsets, main's state copied into its changelog, its tables' branches at
 * main's snapshots.
 */
export async function enterEnvironment(runtime: Runtime, product: Product, env: string): Promise<Product> {
  checkEnvName(env)
  const forked = inEnvironment(product, env)
  const key = `${env}/${product.name}`
  const existing = (await readEnvironments(runtime)).get(key)
  if (existing) {
    if (existing.mergedAt) throw new TributaryError('TRIB_ENV_STATE', `environment ${env} of ${product.name} was merged at ${existing.mergedAt}: drop it before running it again`, { details: { env, product: product.name } })
    return forked
  }
  const { log, catalog } = runtime
  const offsets = await log.groupOffsets(product.name)
  const fork: EnvironmentRecord['fork'] = { offsets, ends: await ends(runtime, ownTopics(product)), tables: [] }
  if (offsets.length > 0) await log.setGroupOffsets(forked.name, offsets)
  // State: the last value of every key of main's changelog, as the environment's changelog.
  const state = new Map<string, OutgoingRecord>()
  for (const r of await readToEnd(log, changelogOf(product))) {
    const k = `${r.partition}\u0000${r.key?.toString('base64')}`
    if (r.value === null) state.delete(k)
    else state.set(k, { topic: changelogOf(forked), partition: r.partition, key: r.key, value: r.value })
  }
  const changelog = await log.describeTopic(changelogOf(product))
  if (changelog) {
    await log.ensureTopic(changelogOf(forked), { partitions: changelog.partitions.length })
    if (state.size > 0) await log.append([...state.values()])
  }
  for (const t of tableTargets(product)) {
    let main: SnapshotId | null = null
    try {
      const table = await catalog.loadTable(t.identifier)
      main = table.metadata.refs[MAIN_BRANCH]?.['snapshot-id'] ?? null
      if (main !== null) {
        const branch = envBranch(env)
        for (const ref of [branch, `${branch}.audit`]) await table.setRef(ref, main, { type: 'branch', expected: null })
      }
    } catch (e) {
      if (!isTributaryError(e, 'TRIB_LAKE_NOT_FOUND')) throw e
    }
    fork.tables.push({ identifier: t.identifier, main })
  }
  await writeRecord(runtime, key, { env, product: product.name, createdAt: new Date().toISOString(), fork, topics: ownTopics(forked) })
  logger.info({ env, product: product.name, offsets: offsets.length, stateKeys: state.size }, 'environment forked from main')
  return forked
}

const sameOffsets = (a: readonly PartitionOffset[], b: readonly PartitionOffset[]): boolean => {
  const key = (o: PartitionOffset) => `${o.topic}\u0000${o.partition}\u0000${o.offset}`
  return a.length === b.length && a.map(key).sort().join('\n') === b.map(key).sort().join('\n')
}

export interface MergeResult {
  product: string
  records: number
  tables: Array<{ table: string; snapshot: SnapshotId }>
}

/**
 * Fast-forwards main to environment `env`, product by product (see the module comment). Refused,
 * with nothing changed for that product, when an audit there has not passed or main moved since
 * the fork; main's product must not be running (its consumer group must be free).
 */
export async function mergeEnvironment(runtime: Runtime, env: string, products: readonly Product[]): Promise<MergeResult[]> {
  checkEnvName(env)
  const records = [...(await readEnvironments(runtime)).values()].filter((r) => r.env === env && !r.mergedAt)
  if (records.length === 0) throw new TributaryError('TRIB_ENV_STATE', `there is no environment ${env} to merge (tributary env list)`, { details: { env } })
  const plans = []
  // Every check first, for every product: a refused merge changes nothing.
  for (const record of records) {
    const product = products.find((p) => p.name === record.product)
    if (!product) throw new TributaryError('TRIB_PRODUCT_NOT_FOUND', `environment ${env} holds ${record.product}, which is not among the configured products: merge needs its spec`, { details: { env } })
    const forked = inEnvironment(product, env)
    const tables = []
    for (const t of tableTargets(forked)) {
      const table = await runtime.catalog.loadTable(t.identifier).catch((e: unknown) => (isTributaryError(e, 'TRIB_LAKE_NOT_FOUND') ? undefined : Promise.reject(e)))
      const head = table?.metadata.refs[t.branch]?.['snapshot-id']
      const audit = table?.metadata.refs[t.auditBranch]?.['snapshot-id']
      if (audit !== undefined && audit !== head)
        throw new TributaryError('TRIB_ENV_STATE', `environment ${env}: table ${t.name} has not passed its audit (its last snapshot ${audit} is not published; see tributary lake audit)`, { details: { env, table: t.name } })
      const forkedAt = record.fork.tables.find((f) => formatIdentifier(f.identifier) === formatIdentifier(t.identifier))?.main ?? null
      const main = table?.metadata.refs[MAIN_BRANCH]?.['snapshot-id'] ?? null
      if (head !== undefined && head !== forkedAt && main !== forkedAt)
        throw moved(env, product.name, `table ${formatIdentifier(t.identifier)} is at snapshot ${main} on main, not ${forkedAt}`)
      if (head !== undefined && head !== forkedAt) tables.push({ target: t, head })
    }
    const groupNow = await runtime.log.groupOffsets(product.name)
    const envOffsets = await runtime.log.groupOffsets(forked.name)
    const envTopics = ownTopics(forked)
    const endsNow = await ends(runtime, ownTopics(product))
    const envEnds = await ends(runtime, envTopics)
    // Main moved, unless what moved it is this merge's own first step (a merge that stopped half way).
    const copied = sameOffsets(groupNow, envOffsets) && ownTopics(product).every((t, i) => (endsNow[t] ?? []).every((e, p) => e === (record.fork.ends[t]?.[p] ?? 0) + (envEnds[envTopics[i]!]?.[p] ?? 0)))
    if (!copied) {
      if (!sameOffsets(groupNow, record.fork.offsets)) throw moved(env, product.name, `its consumer group ${product.name} has read on since the fork`)
      for (const t of ownTopics(product))
        if (JSON.stringify(endsNow[t] ?? []) !== JSON.stringify(record.fork.ends[t] ?? [])) throw moved(env, product.name, `topic ${t} has records written since the fork`)
    }
    plans.push({ record, product, forked, envOffsets, copied, tables })
  }

  const results: MergeResult[] = []
  for (const { record, product, forked, envOffsets, copied, tables } of plans) {
    let records = 0
    if (!copied) {
      // The environment's records onto main's topics, with main's offsets moved to the
      // environment's, in one commit of main's group: both or neither.
      await ensureOutputs(product, runtime.log)
      const copies: OutgoingRecord[] = []
      const own = ownTopics(product)
      for (const [i, topic] of ownTopics(forked).entries()) {
        const info = await runtime.log.describeTopic(topic)
        if (!info) continue
        if (!(await runtime.log.describeTopic(own[i]!))) await runtime.log.ensureTopic(own[i]!, { partitions: info.partitions.length })
        for (const r of await readToEnd(runtime.log, topic))
          copies.push({ topic: own[i]!, partition: r.partition, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })
      }
      const inputs = [...new Set(envOffsets.map((o) => o.topic))]
      const consumer = runtime.log.consumer({ group: product.name, topics: inputs, exactlyOnce: true })
      try {
        await consumer.commit({ offsets: envOffsets, records: copies })
      } finally {
        await consumer.close()
      }
      records = copies.length
    }
    // Main's tables to the environment's audited snapshots, then a snapshot that says which
    // offsets of main's topics they cover, so main's compactor continues after the copies.
    const merged = []
    for (const { target, head } of tables) {
      const table = await runtime.catalog.loadTable(target.identifier)
      const mainTarget = tableTargets(product).find((t) => formatIdentifier(t.identifier) === formatIdentifier(target.identifier))!
      const md = table.metadata
      if (md.refs[MAIN_BRANCH]?.['snapshot-id'] !== head) {
        await table.commit((base) => {
          const refs = base!.metadata.refs
          return {
            requirements: [MAIN_BRANCH, mainTarget.auditBranch].map((ref) => ({ type: 'assert-ref-snapshot-id' as const, ref, 'snapshot-id': refs[ref]?.['snapshot-id'] ?? null })),
            updates: [MAIN_BRANCH, mainTarget.auditBranch].map((ref) => ({ action: 'set-snapshot-ref' as const, 'ref-name': ref, type: 'branch' as const, 'snapshot-id': head })),
          }
        })
        const covered = (await runtime.log.describeTopic(mainTarget.topic))?.partitions.map((p) => [p.partition, p.end]) ?? []
        const stamp = await table.newSnapshot({
          branch: mainTarget.auditBranch,
          addDataFiles: [],
          deletePositions: [],
          operation: 'append',
          summary: { [TOPIC_PROPERTY]: mainTarget.topic, [OFFSETS_PROPERTY]: JSON.stringify(Object.fromEntries(covered)) },
          expectedParent: head,
        })
        await table.fastForward(mainTarget.auditBranch, MAIN_BRANCH)
        merged.push({ table: formatIdentifier(target.identifier), snapshot: stamp['snapshot-id'] })
      }
    }
    await writeRecord(runtime, `${env}/${record.product}`, { ...record, mergedAt: new Date().toISOString() })
    logger.info({ env, product: product.name, records, tables: merged.length }, 'environment merged into main')
    results.push({ product: product.name, records, tables: merged })
  }
  return results
}

const moved = (env: string, product: string, why: string): TributaryError =>
  new TributaryError('TRIB_ENV_STATE', `environment ${env} cannot be merged into main: ${product} moved since the fork (${why}); drop the environment and make it again`, { details: { env, product } })

/** Deletes environment `env`: its topics, consumer groups, local state, and the branches of its tables. */
export async function dropEnvironment(runtime: Runtime, env: string): Promise<string[]> {
  checkEnvName(env)
  const records = [...(await readEnvironments(runtime)).values()].filter((r) => r.env === env)
  if (records.length === 0) throw new TributaryError('TRIB_ENV_STATE', `there is no environment ${env} (tributary env list)`, { details: { env } })
  const branch = envBranch(env)
  for (const record of records) {
    const instance = `${prefix(env)}${record.product}`
    await runtime.log.deleteTopics(record.topics)
    await runtime.log.deleteGroups([instance])
    fs.rmSync(path.join(runtime.stateDir, instance), { recursive: true, force: true })
    for (const { identifier } of record.fork.tables) {
      try {
        const table = await runtime.catalog.loadTable(identifier)
        const refs = [branch, `${branch}.audit`].filter((r) => table.metadata.refs[r])
        if (refs.length > 0) await table.commit(() => ({ requirements: [], updates: refs.map((ref) => ({ action: 'remove-snapshot-ref' as const, 'ref-name': ref })) }))
      } catch (e) {
        if (!isTributaryError(e, 'TRIB_LAKE_NOT_FOUND')) throw e
      }
    }
    await writeRecord(runtime, `${env}/${record.product}`, null)
  }
  logger.info({ env, products: records.map((r) => r.product) }, 'environment dropped')
  return records.map((r) => r.product)
}
