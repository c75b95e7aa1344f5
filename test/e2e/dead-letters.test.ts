import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSampleData, playsTopic, usersTopic, type SampleSummary } from '../../products/sample-data/generate.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import type { ProcessorRunnable as Processor } from '../../runtime/processor/runnable.ts'
import { ProductMetrics } from '../../runtime/observability/metrics.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import { exampleMesh, readDecoded, readTopic, tempRuntime } from '../helpers/runtime.ts'

/** Every kind of bad record in the sample data lands in its product's dead-letter topic with the right code. */
describe('dead letters from the sample data', () => {
  let runtime: Runtime
  let cleanup: () => Promise<void>
  let summary: SampleSummary
  let processors: Processor[]

  beforeAll(async () => {
    ;({ runtime, cleanup } = await tempRuntime())
    for (const t of [usersTopic, playsTopic]) await runtime.log.ensureTopic(t, { partitions: 3 })
    const sample = await generateSampleData(runtime.registry, { users: 60, plays: 300, seed: 7 })
    summary = sample.summary
    await runtime.log.append(sample.records)
    const units = await createRunnables(runtime, exampleMesh())
    processors = units.map((u) => u.processor)
    await runProducts(units, { untilIdle: true })
  })
  afterAll(async () => cleanup())

  const codes = async (topic: string) => {
    const counts: Record<string, number> = {}
    for (const r of await readDecoded(runtime.log, runtime.codec.serde, topic)) {
      const code = r.headers['tributary.error.code']!
      counts[code] = (counts[code] ?? 0) + 1
    }
    return counts
  }

  it('routes each invalid record to the DLQ with the expected code, stage and source position', async () => {
    expect(await codes('user-profiles.dlq')).toEqual(summary.invalid[usersTopic])
    expect(await codes('podcast-listeners.dlq')).toEqual(summary.invalid[playsTopic])
    for (const r of await readDecoded(runtime.log, runtime.codec.serde, 'user-profiles.dlq')) {
      expect(r.headers['tributary.source.topic']).toBe(usersTopic)
      expect(Number(r.headers['tributary.source.offset'])).toBeGreaterThanOrEqual(0)
      expect(['decode', 'validate']).toContain(r.headers['tributary.error.stage'])
      expect(r.headers['tributary.error.message']!.length).toBeGreaterThan(5)
    }
  })

  it('keeps the original key and value bytes', async () => {
    const source = await readTopic(runtime.log, usersTopic)
    for (const dead of await readTopic(runtime.log, 'user-profiles.dlq')) {
      const partition = Number(dead.headers['tributary.source.partition']!.toString())
      const offset = Number(dead.headers['tributary.source.offset']!.toString())
      const original = source.find((r) => r.partition === partition && r.offset === offset)!
      expect(dead.value?.equals(original.value!)).toBe(true)
      expect(dead.key?.equals(original.key!)).toBe(true)
    }
  })

  it('accounts for every input record: an output, a dead letter, or a counted skip (tombstones)', () => {
    const [users, listeners] = ['user-profiles', 'podcast-listeners'].map((n) => processors.find((p) => p.name === n))
    const m = (p: Processor) => p.metrics
    expect(ProductMetrics.total(m(users!).recordsIn)).toBe(summary.records[usersTopic])
    expect(ProductMetrics.total(m(users!).recordsOut) + ProductMetrics.total(m(users!).deadLetters) + ProductMetrics.total(m(users!).skipped)).toBe(
      summary.records[usersTopic],
    )
    expect(m(users!).skipped.get('tombstone')).toBe(summary.userChanges.tombstone)
    expect(ProductMetrics.total(m(listeners!).recordsOut) + ProductMetrics.total(m(listeners!).deadLetters)).toBe(summary.records[playsTopic])
  })
})
