import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openConfluentRegistry } from '../../connectors/registry/confluent/index.ts'
import { type EmbeddedRegistry, openEmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'
import { registryWriter, serveWritableRegistry } from '../helpers/access.ts'
import type { SchemaRegistry } from '../../runtime/registry/registry.ts'
import { createSerde } from '../../runtime/codec/avro/serde.ts'
import { interopRecords, interopSchema, pythonView, registryClient } from '../interop/registry-python.ts'

/**
 * Confluent-framed Avro on a real Kafka broker: our serde encodes through the remote registry
 * adapter (registry.kind confluent, over the embedded registry's REST API), kafkajs produces, and
 * Python's confluent-kafka DeserializingConsumer (librdkafka + AvroDeserializer) reads them with
 * the registry's URL, as any Confluent consumer in another team would.
 */

const brokers = (process.env.TRIBUTARY_TEST_KAFKA ?? '127.0.0.1:19092').split(',')

function reachable(hostPort: string): Promise<boolean> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))]
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3_000 })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.once('timeout', () => done(false))
  })
}

describe('Python DeserializingConsumer reads what kafkajs and our serde wrote', () => {
  const topic = `trib-py-registry-${randomUUID().slice(0, 8)}`
  const kafka = new Kafka({ clientId: 'tributary-test', brokers, logLevel: logLevel.ERROR })
  const admin = kafka.admin()
  const producer = kafka.producer()
  let dir: string
  let embedded: EmbeddedRegistry
  let registry: SchemaRegistry
  let server: { url: string; close(): Promise<void> }

  beforeAll(async () => {
    if (!(await reachable(brokers[0]!))) {
      throw new Error(`no Kafka broker at ${brokers[0]} (TRIBUTARY_TEST_KAFKA): run \`npm run infra:up\` first`)
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-registry-kafka-'))
    embedded = await openEmbeddedRegistry({ dir })
    server = await serveWritableRegistry(embedded)
    registry = await openConfluentRegistry({ kind: 'confluent', url: server.url, ...registryWriter, retries: 3 })
    await admin.connect()
    await producer.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true })
  })
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
    await producer.disconnect().catch(() => undefined)
    await admin.disconnect().catch(() => undefined)
    await registry?.close()
    await server?.close()
    await embedded?.close()
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  it('decodes every record, with its key, partition and offset', async () => {
    const encode = await createSerde(registry).encoder(`${topic}-value`, interopSchema)
    const records = Array.from({ length: 40 }, (_, i) => ({ ...interopRecords[i % 2]!, id: i, name: `user-${i}` }))
    const sent = await producer.send({
      topic,
      messages: records.map((r) => ({ key: `k${r.id}`, value: encode(r) })),
    })
    expect(sent.every((s) => s.errorCode === 0)).toBe(true)

    const got = await registryClient<Array<{ partition: number; offset: number; key: string; value: Record<string, unknown> }>>(
      'consume',
      { bootstrap: brokers.join(','), url: server.url, topic, group: `trib-py-${randomUUID().slice(0, 8)}`, count: records.length, timeout_s: 60 },
      180_000,
    )
    expect(got).toHaveLength(records.length)
    expect(new Set(got.map((r) => r.partition))).toEqual(new Set([0, 1]))
    for (const p of [0, 1]) {
      const offsets = got.filter((r) => r.partition === p).map((r) => r.offset)
      expect(offsets).toEqual(offsets.map((_, i) => i))
    }
    const byKey = new Map(got.map((r) => [r.key, r.value]))
    for (const r of records) expect(byKey.get(`k${r.id}`), `k${r.id}`).toEqual(pythonView(interopSchema, r))
  })
})
