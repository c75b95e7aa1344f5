import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openKafkaLog } from '../../connectors/kafka/index.ts'
import { isTributaryError } from '../../runtime/errors.ts'
import type { Consumer, Log, LogRecord } from '../../runtime/log/log.ts'
import { repoRoot } from '../helpers/runtime.ts'
import { kafkaClients, kafkaBroker, kafkaOptions, openTestKafkaLog, unique } from '../integration/kafka-support.ts'

const worker = path.join(repoRoot, 'test/fault/fixtures/kafka-eos-worker.ts')

/**
 * Runs the worker; with a kill point, SIGKILLs it `delayMs` after its `commits`-th commit line.
 * Counting commits rather than time keeps the kills inside the run however fast the machine is:
 * a pipelined worker prints a line per poll and finishes 12,000 records in well under a second
 * on a quiet machine.
 */
function runWorker(args: string[], kill: { commits: number; delayMs: number } | null): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], {
      cwd: repoRoot,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let armed = false
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (kill !== null && !armed && (out.match(/committed/g)?.length ?? 0) >= kill.commits) {
        armed = true
        setTimeout(() => child.kill('SIGKILL'), kill.delayMs)
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed')
      else if (code === 0 && out.includes('done')) resolve('finished')
      else reject(new Error(`worker exited with ${code}: ${err.slice(-3000)}`))
    })
  })
}

describe.each(kafkaClients)('exactly-once on Kafka under SIGKILL (real broker) [%s]', (client) => {
  let log: Log
  beforeAll(async () => {
    log = await openTestKafkaLog({}, client)
  })
  afterAll(async () => {
    await log?.close()
  })

  it.each([
    ['one transaction per commit', []],
    ['pipelined: commits grouped into one transaction per commit interval', ['pipelined']],
  ])('%s: after 10+ kills at random points and a final run, a read_committed reader sees every output exactly once', async (_, mode) => {
    const input = unique('eos-in')
    const output = unique('eos-out')
    const group = unique('g-eos')
    // Stable across restarts: the transactional id derives from it, so a restart fences the killed one.
    const clientId = unique('eos-worker')
    const n = 12_000
    await log.ensureTopic(input, { partitions: 3 })
    await log.ensureTopic(output, { partitions: 3 })
    for (let i = 0; i < n; i += 2000)
      await log.append(Array.from({ length: 2000 }, (_, k) => ({ topic: input, key: Buffer.from(`k${(i + k) % 101}`), value: Buffer.from(String(i + k)) })))

    const args = [kafkaBroker, client, clientId, group, input, output, ...mode]
    let kills = 0
    let seed = 7
    while (kills < 10) {
      seed = (seed * 48271) % 2147483647
      // At most 20 polls of 40 records before the kill: ten runs cannot finish the 12,000 records.
      const outcome = await runWorker(args, { commits: 1 + (seed % 20), delayMs: seed % 40 })
      if (outcome === 'killed') kills++
      else break
    }
    expect(kills).toBeGreaterThanOrEqual(10)
    expect(await runWorker(args, null)).toBe('finished')

    // Consumers read committed only: aborted and open transactions of killed workers are invisible.
    const reader = log.consumer({ group: null, topics: [output] })
    const counts = new Map<string, number>()
    let total = 0
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const records = await reader.poll({ maxRecords: 5000, maxWaitMs: 200 })
      for (const r of records) {
        const v = r.value!.toString()
        counts.set(v, (counts.get(v) ?? 0) + 1)
        total++
      }
      if (records.length === 0 && reader.caughtUp()) break
    }
    await reader.close()
    const duplicates = [...counts].filter(([, c]) => c > 1).map(([v]) => v)
    expect(duplicates).toEqual([])
    expect(total).toBe(n)
    for (let i = 0; i < n; i++) expect(counts.has(`out:${i}`)).toBe(true)
    const ends = (await log.describeTopic(input))!.partitions
    expect(await log.groupOffsets(group)).toEqual(ends.map((p) => ({ topic: input, partition: p.partition, offset: p.end })))
  }, 600_000)

  it('a second instance with the same transactional id fences the first: its commit fails with TRIB_KAFKA_FENCED and counts for nothing', async () => {
    const input = unique('fence-in')
    const output = unique('fence-out')
    const group = unique('g-fence')
    await log.ensureTopic(input, { partitions: 1 })
    await log.ensureTopic(output, { partitions: 1 })
    await log.append(Array.from({ length: 100 }, (_, i) => ({ topic: input, key: null, value: Buffer.from(String(i)) })))
    // Two processes configured alike (same clientId): both derive the same transactional id.
    const options = kafkaOptions({ tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 } }, kafkaBroker, client)
    const first = await openKafkaLog(options)
    const second = await openKafkaLog(options)
    const step = (c: Consumer, records: LogRecord[]) =>
      c.commit({
        offsets: [{ topic: input, partition: 0, offset: records[records.length - 1]!.offset + 1 }],
        records: records.map((r) => ({ topic: output, key: null, value: r.value })),
      })
    try {
      const a = first.consumer({ group, topics: [input], exactlyOnce: true })
      let got: LogRecord[] = []
      while (got.length === 0) got = await a.poll({ maxRecords: 10, maxWaitMs: 1000 })
      await step(a, got)
      const held = await a.poll({ maxRecords: 10, maxWaitMs: 1000 })
      expect(held.length).toBeGreaterThan(0)

      // The newcomer initializes the same transactional id (bumping its epoch), then waits to join.
      const b = second.consumer({ group, topics: [input], exactlyOnce: true })
      const joining = b.poll({ maxWaitMs: 3000 })
      await new Promise((resolve) => setTimeout(resolve, 2500))
      const fenced = await step(a, held).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isTributaryError(fenced, "TRIB_KAFKA_FENCED"), String(fenced)).toBe(true)
      await expect(a.poll({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'TRIB_KAFKA_FENCED' })
      await a.close()

      // The newcomer takes over from the last committed offset: every output exactly once.
      const rest: LogRecord[] = [...(await joining)]
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        if (rest.length > 0) await step(b, rest.splice(0))
        const next = await b.poll({ maxRecords: 30, maxWaitMs: 500 })
        if (next.length === 0 && b.caughtUp()) break
        rest.push(...next)
      }
      await b.close()
      const reader = log.consumer({ group: null, topics: [output] })
      const values: string[] = []
      for (;;) {
        const records = await reader.poll({ maxRecords: 1000, maxWaitMs: 0 })
        values.push(...records.map((r) => r.value!.toString()))
        if (records.length === 0 && reader.caughtUp()) break
      }
      await reader.close()
      expect(values.map(Number).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    } finally {
      await first.close()
      await second.close()
    }
  }, 180_000)
})
