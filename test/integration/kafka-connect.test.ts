import { afterEach, describe, expect, it, vi } from 'vitest'
import { log } from '../../connectors/kafka/logger.ts'
import { openKafkaLog } from '../../connectors/kafka/index.ts'
import { isTributaryError } from '../../runtime/errors.ts'
import { freePort } from '../helpers/runtime.ts'
import { kafkaClients, kafkaOptions } from './kafka-support.ts'

describe.each(kafkaClients)('Kafka brokers unreachable at start [%s]', (client) => {
  afterEach(() => vi.restoreAllMocks())

  it('retries with backoff, logs every attempt with the broker list and cause, then gives up with a retriable error', async () => {
    const broker = `127.0.0.1:${await freePort()}`
    const warn = vi.spyOn(log, 'warn')
    const started = Date.now()
    const error = await openKafkaLog(kafkaOptions({ startTimeoutMs: 3000 }, broker, client)).then(
      () => undefined,
      (e: unknown) => e,
    )
    const elapsed = Date.now() - started
    expect(isTributaryError(error, 'TRIB_KAFKA_UNAVAILABLE')).toBe(true)
    expect((error as Error & { retriable: boolean }).retriable).toBe(true)
    expect((error as Error).message).toContain(broker)
    expect(elapsed).toBeGreaterThanOrEqual(1000)
    expect(elapsed).toBeLessThan(15_000)
    const attempts = warn.mock.calls.filter(([fields]) => (fields as { brokers?: string }).brokers === broker)
    expect(attempts.length).toBeGreaterThanOrEqual(2)
    for (const [fields, message] of attempts) {
      expect(fields).toMatchObject({ brokers: broker, attempt: expect.any(Number), retryInMs: expect.any(Number), cause: expect.stringMatching(/ECONNREFUSED|connect/i) })
      expect(message).toContain('unreachable')
    }
  })
})
