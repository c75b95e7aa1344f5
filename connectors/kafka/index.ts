import type { Log } from '../../runtime/log/log.ts'
import type { Driver } from './driver.ts'
import { KafkaLog } from './log.ts'
import { resolveOptions, type KafkaLogOptions } from './options.ts'

export type { KafkaLogOptions }

/** Only the chosen client library is loaded. */
export async function driverFor(client: Driver['name']): Promise<Driver> {
  if (client === 'platformatic') return (await import('./platformatic/index.ts')).platformaticDriver as Driver
  return (await import('./kafkajs/index.ts')).kafkajsDriver as Driver
}

/**
 * Opens the Log on a Kafka cluster (`transport.kafka` of the runtime configuration), through the
 * client library `transport.kafka.client` names. Unreachable brokers are retried with backoff,
 * each attempt logged, for `startTimeoutMs` (60 s by default); then it fails with the retriable
 * TRIB_KAFKA_UNAVAILABLE. Rejected credentials fail at once (TRIB_KAFKA_AUTH).
 */
export async function openKafkaLog(options: KafkaLogOptions): Promise<Log> {
  const resolved = resolveOptions(options)
  return KafkaLog.open(await driverFor(resolved.kafka.client), resolved)
}
