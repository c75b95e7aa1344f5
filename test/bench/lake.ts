import { randomUUID } from 'node:crypto'
import { SnapshotCompactor } from '../../runtime/compactor/compactor.ts'
import { AUDIT_BRANCH, type SnapshotTarget } from '../../runtime/compactor/targets.ts'
import type { OutgoingRecord } from '../../runtime/log/log.ts'
import { loadProduct } from '../../runtime/product/load.ts'
import { MAIN_BRANCH } from '../../runtime/lake/index.ts'
import { valueSubject, keySubject } from '../../runtime/registry/registry.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import { productsDir, tempRuntime } from '../helpers/runtime.ts'
import path from 'node:path'

/**
 * The lake's three figures from the issue:
 * - compaction throughput: rows/s from an output topic (Avro) into committed Parquet snapshots,
 *   append and upsert (with its key index), audit and publish included;
 * - a keyed commit of 1,000 changed keys into a 1M-row upsert table (position deletes);
 * - freshness under sustained load with a 2 s commit interval: for each record, the time from its
 *   append to the moment `main` first published a snapshot covering it (from the snapshot log and
 *   the offsets in snapshot summaries), p50/p95.
 */
export async function benchLake(rows = 1_000_000): Promise<Record<string, number>> {
  const { runtime, cleanup } = await tempRuntime()
  try {
    const profiles = loadProduct(path.join(productsDir, 'user-profiles'))
    const demographics = loadProduct(path.join(productsDir, 'podcast-listeners'))
    const out: Record<string, number> = {}

    // Append: ListenerDemographic rows (13 fields).
    const appendTopic = 'bench.demographics'
    await fill(runtime, appendTopic, demographics.outputs[0]!.schema.schema, rows, (i) => demographic(i))
    const append = compactorFor(runtime, demographics, target(demographics, 'demographics', appendTopic, { mode: 'append', records: 250_000 }))
    out.compactionAppendRowsPerSec = Math.round(rows / (await drain(append)) * 1000)
    await append.close()

    // Upsert: 1M UserProfile rows by user_id, then 1,000 changed keys.
    const upsertTopic = 'bench.profiles'
    await fill(runtime, upsertTopic, profiles.outputs[0]!.schema.schema, rows, (i) => profile(i, 0), (i) => i)
    const upsert = compactorFor(runtime, profiles, target(profiles, 'profiles', upsertTopic, { mode: 'upsert', records: 250_000 }))
    out.compactionUpsertRowsPerSec = Math.round(rows / (await drain(upsert)) * 1000)
    const times: number[] = []
    for (let round = 1; round <= 3; round++) {
      await fill(runtime, upsertTopic, profiles.outputs[0]!.schema.schema, 1000, (i) => profile((i * 997 + round * 31) % rows, round), (i) => (i * 997 + round * 31) % rows)
      times.push(await drain(upsert))
    }
    out.keyedCommit1000In1MRowsMs = Math.round(times.sort((a, b) => a - b)[1]!)
    const table = await runtime.catalog.loadTable(upsert.target.identifier)
    out.tableRowsAfterUpserts = Number((table.snapshot({ ref: MAIN_BRANCH })!.summary as Record<string, string>)['total-records']) - Number((table.snapshot({ ref: MAIN_BRANCH })!.summary as Record<string, string>)['total-position-deletes'])
    await upsert.close()

    Object.assign(out, await freshness(runtime, demographics))
    return out
  } finally {
    await cleanup()
  }
}

function target(product: ReturnType<typeof loadProduct>, port: string, topic: string, o: { mode: 'append' | 'upsert'; records: number; intervalMs?: number }): SnapshotTarget {
  const p = product.outputs.find((x) => x.spec.name === port)!
  return {
    name: `${product.name}.${port}-${o.mode}-${randomUUID().slice(0, 6)}`,
    product: product.name,
    port,
    topic,
    identifier: { namespace: ['bench'], name: topic },
    avroSchema: p.schema.schema,
    mode: o.mode,
    truncate: 'empty',
    keyFields: p.keyFields,
    partitionBy: [],
    commitIntervalMs: o.intervalMs ?? 3_600_000,
    commitRecords: o.records,
    quality: p.spec.snapshot?.quality,
    retention: undefined,
    kind: 'port',
    auditBranch: AUDIT_BRANCH,
    branch: MAIN_BRANCH,
  }
}

const compactorFor = (runtime: Runtime, product: ReturnType<typeof loadProduct>, t: SnapshotTarget) =>
  new SnapshotCompactor(product, t, { log: runtime.log, serde: runtime.codec.serde, stateDir: runtime.stateDir, catalog: runtime.catalog })

/** Milliseconds to read everything available and commit it (start-up excluded on first use). */
async function drain(c: SnapshotCompactor): Promise<number> {
  if (!c.table) await c.start()
  const t0 = performance.now()
  while ((await c.step(0)) > 0 || !c.idle()) {
    /* keep draining */
  }
  return performance.now() - t0
}

async function fill(runtime: Runtime, topic: string, schema: object, n: number, row: (i: number) => object, key?: (i: number) => number): Promise<void> {
  await runtime.log.ensureTopic(topic, { partitions: 3 })
  const encode = await runtime.codec.serde.encoder(valueSubject(topic), schema)
  const encodeKey = key ? await runtime.codec.serde.encoder(keySubject(topic), '"long"') : undefined
  for (let start = 0; start < n; start += 20_000) {
    const batch: OutgoingRecord[] = []
    for (let i = start; i < Math.min(n, start + 20_000); i++) batch.push({ topic, key: encodeKey ? encodeKey(key!(i)) : null, value: encode(row(i)) })
    await runtime.log.append(batch)
  }
}

const day = (i: number) => `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`
function demographic(i: number): object {
  return {
    play_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    podcast_id: `pod-${String(i % 300).padStart(3, '0')}`,
    episode_id: `ep-${i % 40}`,
    played_at: `${day(i)}T10:00:00.000Z`,
    play_day: day(i),
    duration_seconds: i % 3600,
    device: 'mobile',
    user_id: i % 50_000,
    known_listener: true,
    age_band: '25-34',
    country: 'DE',
    city: 'Berlin',
    plan: 'free',
  }
}
function profile(i: number, version: number): object {
  return {
    user_id: i,
    email: `user${i}@example.com`,
    display_name: `User ${i}`,
    age_band: '25-34',
    country: ['DE', 'FR', 'US'][i % 3],
    city: null,
    plan: 'free',
    marketing_opt_in: version % 2 === 0,
    lifetime_value: `${i % 1000}.${String(version).padStart(2, '0')}`,
    registered_at: '2026-01-01T00:00:00.000000Z',
    updated_at: `2026-11-01T00:00:0${version}.000000Z`,
  }
}

/** Produce → visible in main, at a sustained rate, with a 2 s commit interval. */
async function freshness(runtime: Runtime, product: ReturnType<typeof loadProduct>): Promise<Record<string, number>> {
  const topic = 'bench.fresh'
  const rate = 20_000
  const seconds = 20
  const schema = product.outputs[0]!.schema.schema
  await runtime.log.ensureTopic(topic, { partitions: 3 })
  const encode = await runtime.codec.serde.encoder(valueSubject(topic), schema)
  const c = compactorFor(runtime, product, target(product, 'demographics', topic, { mode: 'append', records: 10_000_000, intervalMs: 2000 }))
  await c.start()
  const running = c.run()
  const appended: Array<{ partition: number; offset: number; at: number }> = []
  const t0 = Date.now()
  for (let tick = 0; tick < seconds * 10; tick++) {
    const batch = Array.from({ length: rate / 10 }, (_, i) => ({ topic, key: null, value: encode(demographic(tick * 10_000 + i)) }))
    const at = Date.now()
    for (const p of await runtime.log.append(batch)) appended.push({ partition: p.partition, offset: p.offset, at })
    const next = t0 + (tick + 1) * 100
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())))
  }
  // Let the last interval publish, then stop.
  await new Promise((r) => setTimeout(r, 3000))
  c.requestStop()
  await running
  const table = await runtime.catalog.loadTable(c.target.identifier)
  await c.close()
  const md = table.metadata
  // When main first reached each offset: walk the main snapshot log in time order.
  const published = md['snapshot-log'].map((e) => {
    const s = md.snapshots.find((x) => x['snapshot-id'] === e['snapshot-id'])!
    return { at: e['timestamp-ms'], offsets: JSON.parse((s.summary as Record<string, string>)['tributary.offsets'] ?? '{}') as Record<string, number> }
  })
  const latencies = appended.map((r) => {
    const first = published.find((p) => (p.offsets[r.partition] ?? 0) > r.offset)
    return first ? first.at - r.at : Number.POSITIVE_INFINITY
  })
  latencies.sort((a, b) => a - b)
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!
  return { freshnessRecordsPerSec: rate, freshnessP50Ms: pct(0.5), freshnessP95Ms: pct(0.95), freshnessMaxMs: pct(1) }
}
