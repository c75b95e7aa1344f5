import net from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { brokerWatch } from '../../connectors/kafka/health.ts'
import type { ReachabilityWatch } from '../../runtime/util/reachability.ts'
import { driverFor } from '../../connectors/kafka/index.ts'
import { resolveOptions } from '../../connectors/kafka/options.ts'
import { until } from '../helpers/products.ts'
import { freePort } from '../helpers/runtime.ts'
import { kafkaClients, kafkaOptions, requireKafka, type KafkaClient } from './kafka-support.ts'

/**
 * The Kafka adapter's broker watch (readiness during a broker outage): reachable against the real
 * broker; unreachable, naming the brokers and the cause, against a port that refuses connections
 * and against a server that accepts them but never answers (a timeout). Recovery after a real
 * broker restart is asserted by test/fault/chaos.test.ts.
 */
const watchOf = async (client: KafkaClient, ...brokers: string[]) => {
  const options = kafkaOptions({}, brokers[0], client)
  return brokerWatch(await driverFor(client), resolveOptions({ ...options, kafka: { ...options.kafka, brokers, connectionTimeoutMs: 500 }, tuning: { healthIntervalMs: 100, healthTimeoutMs: 1_500 } })).start()
}

describe.each(kafkaClients)('the Kafka broker watch [%s]', (client) => {
  const watches: ReachabilityWatch[] = []
  const silent = net.createServer(() => undefined)
  afterAll(async () => {
    for (const w of watches) await w.close()
    silent.close()
  })

  it('stays reachable while the broker answers', async () => {
    await requireKafka()
    const watch = await watchOf(client, kafkaOptions().kafka.brokers[0]!)
    watches.push(watch)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(watch.health()).toEqual({ reachable: true })
  })

  it('one broker of the list down is not an outage: each check tries the others', async () => {
    await requireKafka()
    const watch = await watchOf(client, `127.0.0.1:${await freePort()}`, kafkaOptions().kafka.brokers[0]!)
    watches.push(watch)
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(watch.health()).toEqual({ reachable: true })
    }
  })

  it('names a broker that refuses connections after two failed checks', async () => {
    const port = await freePort()
    const watch = await watchOf(client, `127.0.0.1:${port}`)
    watches.push(watch)
    const started = Date.now()
    await until('unreachable', () => !watch.health().reachable, 10_000)
    const h = watch.health()
    expect(h.reachable).toBe(false)
    if (h.reachable) return
    expect(h.message).toMatch(new RegExp(`^Kafka brokers 127\\.0\\.0\\.1:${port} unreachable for \\d+ ms \\(\\d+ checks failed; last: .+\\)$`))
    expect(h.since).toBeGreaterThanOrEqual(started)
  })

  it('names a broker that accepts connections but never answers', async () => {
    silent.listen(0, '127.0.0.1')
    await new Promise((resolve) => silent.once('listening', resolve))
    const { port } = silent.address() as net.AddressInfo
    const watch = await watchOf(client, `127.0.0.1:${port}`)
    watches.push(watch)
    await until('unreachable', () => !watch.health().reachable, 15_000)
  })
})
