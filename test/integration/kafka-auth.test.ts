import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openKafkaLog } from '../../connectors/kafka/index.ts'
import { isTributaryError } from '../../runtime/errors.ts'
import { readTopic } from '../helpers/runtime.ts'
import { kafkaClients, kafkaOptions, requireKafka, unique } from './kafka-support.ts'
import { PrivateBroker } from './kafka-private-broker.ts'

/** A private broker with a SASL/PLAIN listener: the configured credentials reach Kafka, and a wrong one is one clear error. */
describe.each(kafkaClients)('Kafka with SASL (real broker) [%s]', (client) => {
  let broker: PrivateBroker
  const user = { username: 'tributary', password: 'right-secret-0123' }
  const withSasl = (password: string) => {
    const o = kafkaOptions({ startTimeoutMs: 20_000 }, broker.saslAddress, client)
    return { ...o, kafka: { ...o.kafka, sasl: { mechanism: 'plain' as const, username: user.username, password } } }
  }
  beforeAll(async () => {
    await requireKafka() // infra:up fetched the jars
    broker = await PrivateBroker.create({ sasl: user })
  }, 180_000)
  afterAll(async () => {
    await broker?.destroy()
  })

  it('the right credentials: topics, appends and reads go through the SASL listener', async () => {
    const log = await openKafkaLog(withSasl(user.password))
    try {
      const topic = unique('sasl')
      await log.ensureTopic(topic, { partitions: 2 })
      await log.append([{ topic, key: Buffer.from('k'), value: Buffer.from('v') }])
      const read = await readTopic(log, topic)
      expect(read.map((r) => r.value?.toString())).toEqual(['v'])
    } finally {
      await log.close()
    }
  })

  it('a wrong password fails at once with TRIB_KAFKA_AUTH naming the brokers, not retried', async () => {
    const started = Date.now()
    const error = await openKafkaLog(withSasl('wrong-secret-0123')).then(
      (log) => (void log.close(), undefined),
      (e: unknown) => e,
    )
    expect(isTributaryError(error, 'TRIB_KAFKA_AUTH'), String(error)).toBe(true)
    expect((error as Error & { retriable: boolean }).retriable).toBe(false)
    expect((error as Error).message).toContain(broker.saslAddress)
    expect((error as Error).message).not.toContain('wrong-secret')
    expect(Date.now() - started).toBeLessThan(15_000)
  })
})
