import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { loadProduct } from '../../runtime/product/load.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { ProductService } from '../../runtime/service.ts'
import type { Failure } from '../../runtime/supervisor/supervisor.ts'
import { writeTickProduct, until } from '../helpers/products.ts'
import { readDecoded, tempDir } from '../helpers/runtime.ts'
import { PrivateBroker } from '../integration/kafka-private-broker.ts'
import { requireKafka } from '../integration/kafka-support.ts'
import { assertS3Reachable, createBucket, faultProxy } from '../integration/s3-server.ts'

/**
 * Chaos on real parts (issue 10 item 4, lean): one exactly-once product under the supervisor, its
 * transport a private Kafka broker that is stopped and started again, its lake an S3 server behind
 * a proxy that answers 503 for a while. While S3 fails, readiness names the fault (the sink
 * restarting and the code); afterwards every input id is in the output topic and in the lake table
 * exactly once, and the service never stopped the product. (A broker outage is not named by
 * readiness yet: see the comment at the restart.)
 */
const TOTAL = 450
const ticks = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ({ topic: 'chaos.in', key: Buffer.from(String(from + i)), value: Buffer.from(JSON.stringify({ id: from + i, note: `tick ${from + i}` })) }))

describe('chaos: broker restart and S3 errors under the supervisor', () => {
  let broker: PrivateBroker
  let bucket: { bucket: string; remove: () => Promise<void> }
  let proxy: Awaited<ReturnType<typeof faultProxy>>
  let s3Down = false
  let runtime: Runtime
  let dir: string

  beforeAll(async () => {
    await requireKafka() // the jars infra:up fetched
    await assertS3Reachable()
    broker = await PrivateBroker.create()
    bucket = await createBucket('chaos')
    proxy = await faultProxy(() => (s3Down ? 'http-503' : 'pass'))
    dir = tempDir('trib-chaos-')
    runtime = await openRuntime(
      loadConfig({
        env: {},
        flags: {
          dataDir: path.join(dir, 'data'),
          'transport.kind': 'kafka',
          'transport.kafka.brokers': [broker.address],
          'transport.kafka.clientId': 'trib-chaos',
          // Faults surface in seconds rather than the production defaults' half minute.
          'transport.kafka.requestTimeoutMs': 5_000,
          'transport.kafka.connectionTimeoutMs': 2_000,
          'transport.kafka.sessionTimeoutMs': 6_000,
          'transport.kafka.heartbeatIntervalMs': 1_000,
          'transport.kafka.transactionTimeoutMs': 10_000,
          'lake.uri': `s3://${bucket.bucket}/lake`,
          'lake.s3.endpoint': proxy.endpoint,
          'lake.s3.forcePathStyle': true,
        },
      }),
    )
  }, 180_000)
  afterAll(async () => {
    await runtime?.close()
    await proxy?.close()
    await bucket?.remove().catch(() => undefined)
    await broker?.destroy()
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  it('outputs end exactly once through an S3 outage and a broker restart; readiness names the S3 fault while it lasts', async () => {
    const product = loadProduct(
      writeTickProduct(path.join(dir, 'products'), 'chaos', {
        snapshot: '{ mode: append, commit: { interval: 300ms, records: 50 } }',
        processing: '{ guarantee: exactly-once }',
      }),
    )
    await runtime.log.ensureTopic('chaos.in', { partitions: 3 })
    await runtime.log.append(ticks(0, 150))
    const service = new ProductService(runtime, [product])
    const abort = new AbortController()
    const running = service.start(abort.signal)
    const seen: Failure[] = []
    let brokerFaults: string[] = []
    let brokerDownMs = 0
    // What /readyz serves: the product's runnables that are restarting, with the failure.
    const restarting = (): Failure[] => (service.readiness().products as Record<string, { restarting?: Failure[] }> | undefined)?.chaos?.restarting ?? []
    const watch = setInterval(() => seen.push(...restarting()), 50)
    const sink = () => service.sinks().find((s) => s.name === 'chaos.out')
    const lakeRows = () => sink()?.stats.rows ?? 0
    try {
      await until('the first 150 in the lake', () => lakeRows() === 150, 60_000)

      // S3 answers 503 to everything: the sink restarts (retriable), readiness says so.
      s3Down = true
      await runtime.log.append(ticks(150, 300))
      await until('readiness naming the S3 fault', () => seen.some((f) => f.runnable === 'chaos.out'), 60_000)
      const s3Fault = seen.find((f) => f.runnable === 'chaos.out')!
      expect(s3Fault.code).toMatch(/^TRIB_LAKE_(STORAGE|UNAVAILABLE)/)
      expect(lakeRows()).toBe(150)
      s3Down = false
      await until('the lake catching up after S3 is back', () => lakeRows() === 300, 60_000)
      await until('readiness clear of the S3 fault', () => restarting().length === 0, 30_000)

      // The broker goes away for a while and comes back. (Readiness is not asserted here: the
      // Kafka consumer rides an outage out inside kafkajs and nothing fails, so nothing reaches the
      // supervisor; what it saw is printed with the figures.)
      seen.length = 0
      await broker.stop()
      const downAt = Date.now()
      await new Promise((resolve) => setTimeout(resolve, 10_000))
      brokerFaults = [...new Set(seen.map((f) => `${f.runnable}/${f.code}`))]
      await broker.start()
      brokerDownMs = Date.now() - downAt
      await runtime.log.append(ticks(300, TOTAL))
      await until('the lake complete after the broker is back', () => lakeRows() === TOTAL, 90_000)
      await until('readiness clear again', () => service.readiness().ready && restarting().length === 0, 30_000)
      expect(service.supervision()?.status()[0]?.state).toBe('running')
    } finally {
      clearInterval(watch)
      abort.abort()
      await running
    }
    const restarts = service.supervision()!.restarts()
    console.info(
      `[figures] chaos: ${TOTAL} records in; restarts ${restarts.map((r) => `${r.runnable}/${r.code}×${r.count}`).join(', ')}; ` +
        `broker down ${brokerDownMs} ms, readiness meanwhile named: ${brokerFaults.join(', ') || 'nothing'}`,
    )

    // Exactly once: in the output topic (read committed) and in the lake.
    const out = (await readDecoded(runtime.log, runtime.codec.serde, 'chaos.out')).map((r) => Number((r.value as { id: number }).id))
    expect(out).toHaveLength(TOTAL)
    expect(new Set(out).size).toBe(TOTAL)
    const tables = await lakeTables(runtime.catalog)
    const result = await runQuery(runtime.catalog, tables, 'SELECT count(*) AS n, count(DISTINCT id) AS ids, min(id), max(id) FROM chaos.out', {})
    expect(result.rows[0]!.map(Number)).toEqual([TOTAL, TOTAL, 0, TOTAL - 1])
  }, 300_000)
})
