import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import avro from 'avsc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Log, LogRecord, OutgoingRecord } from '../../runtime/log/log.ts'
import { partitionForKey } from '../../runtime/log/partitioner.ts'
import { frame, unframe } from '../../runtime/codec/avro/wire.ts'
import { kafkaClients, kafkaBroker, openTestKafkaLog, unique } from './kafka-support.ts'

const run = promisify(execFile)

interface KcatRecord {
  partition: number
  offset: number
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers: string
}

/** kcat's output with explicit lengths (%K %S), so binary keys and values come back byte for byte. */
function parseKcat(out: Buffer): KcatRecord[] {
  const records: KcatRecord[] = []
  let pos = 0
  while (pos < out.length) {
    const fields: string[] = []
    for (let i = 0; i < 6; i++) {
      const bar = out.indexOf(0x7c, pos)
      fields.push(out.subarray(pos, bar).toString())
      pos = bar + 1
    }
    const [partition, offset, timestamp, keyLen, valueLen, headers] = fields as [string, string, string, string, string, string]
    const take = (len: number): Buffer | null => {
      if (len < 0) return null
      const b = out.subarray(pos, pos + len)
      pos += len
      return Buffer.from(b)
    }
    const key = take(Number(keyLen))
    const value = take(Number(valueLen))
    pos++ // newline
    records.push({ partition: Number(partition), offset: Number(offset), timestamp: Number(timestamp), key, value, headers })
  }
  return records
}

describe.each(kafkaClients)('kcat reads and writes Tributary topics on Kafka (real broker) [%s]', (client) => {
  let log: Log
  beforeAll(async () => {
    if (spawnSync('kcat', ['-V']).status !== 0) throw new Error('kcat is not installed, and the set-up could not install it (test/infra/tools.sh ensure kcat says why)')
    log = await openTestKafkaLog({}, client)
  })
  afterAll(async () => {
    await log?.close()
  })

  it('kcat consumes keys, values, headers and timestamps as written, and Confluent-framed Avro bytes unchanged', async () => {
    const topic = unique('kcat')
    await log.ensureTopic(topic, { partitions: 2 })
    const type = avro.Type.forSchema({ type: 'record', name: 'User', fields: [{ name: 'id', type: 'long' }, { name: 'email', type: 'string' }] })
    const framed = frame(42, type.toBuffer({ id: 7, email: 'ada@example.com' }))
    const ts = Date.parse('2026-11-01T08:00:00Z')
    const records: OutgoingRecord[] = [
      { topic, key: Buffer.from('user-7'), value: framed, headers: { source: Buffer.from('registration'), trace: Buffer.from('t-1') }, timestamp: ts },
      { topic, key: Buffer.from('user-8'), value: Buffer.from('{"plain":"json"}'), timestamp: ts + 1 },
      { topic, key: null, value: Buffer.from([0, 1, 2, 0xff, 0x7c, 0x0a]), timestamp: ts + 2 },
      { topic, key: Buffer.from('user-9'), value: null, timestamp: ts + 3 },
    ]
    const positions = await log.append(records)
    const { stdout } = await run('kcat', ['-C', '-b', kafkaBroker, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p|%o|%T|%K|%S|%h|%k%s\n'], {
      encoding: 'buffer',
      timeout: 60_000,
    })
    const got = parseKcat(stdout as unknown as Buffer)
    expect(got).toHaveLength(records.length)
    for (let i = 0; i < records.length; i++) {
      const want = records[i]!
      const k = got.find((g) => g.partition === positions[i]!.partition && g.offset === positions[i]!.offset)!
      expect(k, `record ${i}`).toBeDefined()
      expect(k.key).toEqual(want.key)
      expect(k.value).toEqual(want.value)
      expect(k.timestamp).toBe(want.timestamp)
      // Keyed records land where Kafka's own partitioner would put them (murmur2).
      if (want.key) expect(k.partition).toBe(partitionForKey(want.key, 2))
    }
    const avroRecord = got.find((g) => g.key?.toString() === 'user-7')!
    expect(avroRecord.headers.split(',').sort()).toEqual(['source=registration', 'trace=t-1'])
    expect(avroRecord.value!.equals(framed)).toBe(true)
    const { id, payload } = unframe(avroRecord.value!)
    expect(id).toBe(42)
    expect(type.fromBuffer(payload)).toEqual({ id: 7, email: 'ada@example.com' })
  })

  it('a Tributary consumer reads what kcat produced: keys, values and headers', async () => {
    const topic = unique('kcat-in')
    await log.ensureTopic(topic, { partitions: 1 })
    const input = ['k1:v1', 'k2:v2', 'k3:v3'].join('\n')
    await new Promise<void>((resolve, reject) => {
      const child = execFile('kcat', ['-P', '-b', kafkaBroker, '-t', topic, '-K', ':', '-H', 'origin=kcat', '-H', 'n=1'], { timeout: 60_000 }, (e) => (e ? reject(e) : resolve()))
      child.stdin!.end(input)
    })
    const consumer = log.consumer({ group: null, topics: [topic] })
    const got: LogRecord[] = []
    const deadline = Date.now() + 30_000
    while (got.length < 3 && Date.now() < deadline) got.push(...(await consumer.poll({ maxWaitMs: 200 })))
    await consumer.close()
    expect(got.map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([
      ['k1', 'v1'],
      ['k2', 'v2'],
      ['k3', 'v3'],
    ])
    expect(Object.fromEntries(Object.entries(got[0]!.headers).map(([k, v]) => [k, v.toString()]))).toEqual({ origin: 'kcat', n: '1' })
  })
})
