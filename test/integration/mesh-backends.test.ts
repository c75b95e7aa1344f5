import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedRegistry, openEmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'
import { registryWriter, serveWritableRegistry } from '../helpers/access.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { exampleMesh, readDecoded, readTopic, tempDir } from '../helpers/runtime.ts'
import { registryClient } from '../interop/registry-python.ts'
import { kafkaBroker, kafkaClients, requireKafka, resetKafka } from './kafka-support.ts'
import { S3_ENDPOINT, assertS3Reachable, createBucket } from './s3-server.ts'

/**
 * The example mesh on production backends (a real Kafka broker, the remote registry adapter over
 * a registry's REST API, the lake on a real S3 server) against the embedded runtime on the same
 * input: outputs, dead letters and snapshots must agree. Third-party clients (kcat, Python's
 * confluent-kafka with AvroDeserializer) then read an output topic from the broker.
 */

const mesh = exampleMesh()
const inputTopics = [usersTopic, playsTopic]
const meshTopics = [...new Set(mesh.flatMap((p) => [...p.inputs.map((i) => i.spec.topic), ...p.outputs.map((o) => o.spec.topic), p.dlqTopic]))]
const PARTITIONS = 3

/** The mesh's topic names are fixed: a rerun against the same broker starts from empty topics and groups. */
const resetBroker = (): Promise<void> =>
  resetKafka({
    groups: (g) => mesh.some((p) => g === p.name || g.includes(p.name)),
    topics: (t) => meshTopics.includes(t) || mesh.some((p) => t.startsWith(`${p.name}.`)),
  })

interface ModeResult {
  runtime: Runtime
  outputs: Map<string, Array<{ partition: number; offset: number; key: unknown; value: unknown; headers: Record<string, string> }>>
  lake: Map<string, Record<string, unknown>[]>
}

async function runMesh(runtime: Runtime): Promise<ModeResult> {
  const { records } = await generateSampleData(runtime.registry, { users: 150, plays: 1500, seed: 7 })
  // The sample data holds one oversized user (the TRIB_RECORD_TOO_LARGE case): above Kafka's 1 MB default.
  for (const t of inputTopics) await runtime.log.ensureTopic(t, { partitions: PARTITIONS, maxMessageBytes: 4 * 1024 * 1024 })
  await runtime.log.append(records)
  await runProducts(await createRunnables(runtime, mesh), { untilIdle: true })
  const outputs = new Map<string, ModeResult['outputs'] extends Map<string, infer V> ? V : never>()
  for (const p of mesh) for (const t of [...p.outputs.map((o) => o.spec.topic), p.dlqTopic]) outputs.set(t, await readDecoded(runtime.log, runtime.codec.serde, t))
  const lake = new Map<string, Record<string, unknown>[]>()
  for (const t of await lakeTables(runtime.catalog)) {
    const r = await runQuery(runtime.catalog, [t], `SELECT * FROM "${t.product}"."${t.port}"`)
    lake.set(t.name, r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]]))))
  }
  return { runtime, outputs, lake }
}

const canonical = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
const sortedRows = (rows: unknown[]): string[] => rows.map(canonical).sort()
/** Dead-letter rows carry positions and times of their own log, which legitimately differ. */
const withoutPositions = (row: Record<string, unknown>): Record<string, unknown> => {
  const { dlq_partition: _p, dlq_offset: _o, timestamp: _t, ...rest } = row
  return rest
}

describe.each(kafkaClients)('the example mesh on Kafka + a remote registry + S3 equals embedded mode [%s]', (client) => {
  let embeddedMode: ModeResult
  let kafkaMode: ModeResult
  let registry: EmbeddedRegistry
  let registryServer: { url: string; close(): Promise<void> }
  let bucket: { bucket: string; remove: () => Promise<void> }
  const dirs: string[] = []

  beforeAll(async () => {
    await requireKafka()
    await assertS3Reachable()
    await resetBroker()
    const registryDir = tempDir('trib-mesh-registry-')
    dirs.push(registryDir)
    registry = await openEmbeddedRegistry({ dir: registryDir })
    registryServer = await serveWritableRegistry(registry)
    bucket = await createBucket('mesh')

    const embeddedDir = tempDir('trib-mesh-embedded-')
    const kafkaDir = tempDir('trib-mesh-kafka-')
    dirs.push(embeddedDir, kafkaDir)
    embeddedMode = await runMesh(await openRuntime(loadConfig({ env: {}, flags: { dataDir: embeddedDir, 'transport.defaultPartitions': PARTITIONS } })))
    kafkaMode = await runMesh(
      await openRuntime(
        loadConfig({
          env: {},
          flags: {
            dataDir: kafkaDir,
            'transport.kind': 'kafka',
            'transport.defaultPartitions': PARTITIONS,
            'transport.kafka.brokers': [kafkaBroker],
            'transport.kafka.clientId': 'trib-mesh-test',
            'transport.kafka.client': client,
            'registry.kind': 'confluent',
            'registry.url': registryServer.url,
            'registry.username': registryWriter.username,
            'registry.password': registryWriter.password,
            'lake.uri': `s3://${bucket.bucket}/mesh`,
            'lake.s3.endpoint': S3_ENDPOINT,
            'lake.s3.forcePathStyle': true,
          },
        }),
      ),
    )
  }, 600_000)

  afterAll(async () => {
    await embeddedMode?.runtime.close()
    await kafkaMode?.runtime.close()
    await registryServer?.close()
    await registry?.close()
    await bucket?.remove().catch(() => undefined)
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  })

  it('runs on the backends the configuration names', () => {
    expect(embeddedMode.runtime.log.capabilities.assignment).toBe('static')
    expect(kafkaMode.runtime.log.capabilities.assignment).toBe('dynamic')
    expect(kafkaMode.runtime.catalog.uri).toBe(`s3://${bucket.bucket}/mesh`)
  })

  it('user-profiles emits the same events in the same order per key', () => {
    const perKey = (rows: ModeResult['outputs'] extends Map<string, infer V> ? V : never) => {
      const out: Record<string, string[]> = {}
      for (const r of rows) (out[canonical(r.key)] ??= []).push(canonical(r.value))
      return out
    }
    const ours = embeddedMode.outputs.get('user-profiles.profiles')!
    expect(ours.length).toBeGreaterThan(150)
    expect(perKey(kafkaMode.outputs.get('user-profiles.profiles')!)).toEqual(perKey(ours))
  })

  it('every output and dead-letter topic holds the same records', () => {
    for (const [topic, rows] of embeddedMode.outputs) {
      const theirs = kafkaMode.outputs.get(topic)!
      if (topic === 'top-podcasts.daily-plays') continue // running totals: checked below
      const view = (rs: typeof rows) =>
        sortedRows(rs.map((r) => ({ partition: r.partition, key: r.key, value: r.value, error: r.headers['tributary.error.code'], source: r.headers['tributary.source.offset'] })))
      expect(view(theirs), topic).toEqual(view(rows))
    }
    expect(embeddedMode.outputs.get('podcast-listeners.dlq')!.length).toBeGreaterThan(0)
  })

  it('top-podcasts ends on the same totals for every day and podcast', () => {
    // Plays reach it from several partitions, so the intermediate totals depend on interleaving; the last one does not.
    const last = (rows: ModeResult['outputs'] extends Map<string, infer V> ? V : never) => {
      const out: Record<string, string> = {}
      for (const r of rows) out[canonical(r.key)] = canonical(r.value)
      return out
    }
    const ours = last(embeddedMode.outputs.get('top-podcasts.daily-plays')!)
    expect(Object.keys(ours).length).toBeGreaterThan(5)
    expect(last(kafkaMode.outputs.get('top-podcasts.daily-plays')!)).toEqual(ours)
  })

  it('the lake on S3 holds the same snapshots as the lake on disk', () => {
    expect([...kafkaMode.lake.keys()].sort()).toEqual([...embeddedMode.lake.keys()].sort())
    expect(embeddedMode.lake.size).toBeGreaterThanOrEqual(4)
    for (const [name, rows] of embeddedMode.lake) {
      const theirs = kafkaMode.lake.get(name)!
      const strip = name.endsWith('.dlq') ? withoutPositions : (r: Record<string, unknown>) => r
      expect(theirs.length, name).toBe(rows.length)
      expect(sortedRows(theirs.map(strip)), name).toEqual(sortedRows(rows.map(strip)))
    }
  })

  it('kcat reads an output topic from the broker, read_committed, at the positions we read', async () => {
    const topic = 'user-profiles.profiles'
    const ours = await readTopic(kafkaMode.runtime.log, topic)
    expect(ours.length).toBe(kafkaMode.outputs.get(topic)!.length)
    const out = execFileSync('kcat', ['-b', kafkaBroker, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_committed', '-f', '%p %o %K %S\n'], {
      encoding: 'utf8',
      timeout: 120_000,
    })
    const seen = out.trim().split('\n').map((l) => l.split(' ').map(Number))
    const expected = ours.map((r) => [r.partition, r.offset, r.key?.length ?? -1, r.value?.length ?? -1])
    const order = (rows: number[][]) => [...rows].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!)
    expect(order(seen)).toEqual(order(expected))
  })

  it("Python's confluent-kafka consumer decodes our output keys and values through the registry", async () => {
    const topic = 'user-profiles.profiles'
    const ours = kafkaMode.outputs.get(topic)!
    const got = await registryClient<Array<{ partition: number; offset: number; key: unknown; value: Record<string, unknown> | null }>>(
      'consume',
      { bootstrap: kafkaBroker, url: registryServer.url, topic, group: `trib-py-mesh-${Date.now()}`, count: ours.length, timeout_s: 90, key: 'avro' },
      240_000,
    )
    expect(got).toHaveLength(ours.length)
    const at = new Map(ours.map((r) => [`${r.partition}:${r.offset}`, r]))
    const plain = (v: Record<string, unknown> | null) => v && { user_id: v.user_id, email: v.email, display_name: v.display_name, plan: v.plan, country: v.country, city: v.city }
    for (const r of got) {
      const mine = at.get(`${r.partition}:${r.offset}`)
      expect(mine, `${r.partition}:${r.offset}`).toBeDefined()
      expect(r.key).toEqual(mine!.key)
      expect(plain(r.value)).toEqual(plain(mine!.value as Record<string, unknown> | null))
    }
  })
})
