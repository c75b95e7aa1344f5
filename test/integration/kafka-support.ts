import net from 'node:net'
import { Kafka, logLevel } from 'kafkajs'
import { openKafkaLog, type KafkaLogOptions } from '../../connectors/kafka/index.ts'
import { configSchema } from '../../runtime/config/schema.ts'
import type { Log } from '../../runtime/log/log.ts'
import { unique } from '../helpers/runtime.ts'

/** The broker integration tests use (`npm run infra:up` starts it). */
export const kafkaBroker = process.env.TRIBUTARY_TEST_KAFKA ?? '127.0.0.1:19092'

export { unique }

/** Whether something accepts TCP connections at host:port (3 s at most). */
export const portOpen = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port })
    socket.setTimeout(3000)
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => (socket.destroy(), resolve(false)))
  })

/** Fails with a clear message when the broker is not listening. */
export async function requireKafka(): Promise<void> {
  const [host, port] = kafkaBroker.split(':')
  if (!(await portOpen(host!, Number(port)))) throw new Error(`no Kafka broker at ${kafkaBroker} (TRIBUTARY_TEST_KAFKA): run \`npm run infra:up\` first`)
}

export type KafkaClient = KafkaLogOptions['kafka']['client']

/**
 * The client libraries every Kafka suite runs against (`describe.each(kafkaClients)`);
 * TRIBUTARY_TEST_KAFKA_CLIENTS (comma-separated) narrows the list.
 */
export const kafkaClients: KafkaClient[] = (process.env.TRIBUTARY_TEST_KAFKA_CLIENTS ?? 'kafkajs,platformatic')
  .split(',')
  .map((c) => c.trim())
  .filter((c): c is KafkaClient => c === 'kafkajs' || c === 'platformatic')

/** The runtime's defaults for transport.kafka, pointed at the test broker, over the given client library. */
export function kafkaOptions(overrides: Partial<KafkaLogOptions> = {}, broker = kafkaBroker, client: KafkaClient = 'kafkajs'): KafkaLogOptions {
  const kafka = configSchema.parse({ transport: { kind: 'kafka', kafka: { brokers: [broker], clientId: unique('trib-test'), client } } }).transport.kafka
  return { kafka, defaultPartitions: 1, ...overrides }
}

export async function openTestKafkaLog(overrides: Partial<KafkaLogOptions> = {}, client: KafkaClient = 'kafkajs'): Promise<Log> {
  await requireKafka()
  return openKafkaLog(kafkaOptions(overrides, kafkaBroker, client))
}

/**
 * Deletes the given consumer groups and topics on the test broker and waits until the topics are
 * gone: tests and benchmarks over products (whose topic and group names are fixed) start empty.
 */
export async function resetKafka(what: { topics: (t: string) => boolean; groups: (g: string) => boolean }, broker = kafkaBroker): Promise<void> {
  const admin = new Kafka({ clientId: unique('trib-reset'), brokers: [broker], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(what.groups)
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined)
    const existing = (await admin.listTopics()).filter(what.topics)
    if (existing.length === 0) return
    await admin.deleteTopics({ topics: existing, timeout: 30_000 })
    for (let i = 0; i < 120; i++) {
      const left = (await admin.listTopics()).filter((t) => existing.includes(t))
      if (left.length === 0) return
      await new Promise((r) => setTimeout(r, 500))
    }
    throw new Error(`topics still present after deletion: ${existing.join(', ')}`)
  } finally {
    await admin.disconnect()
  }
}
