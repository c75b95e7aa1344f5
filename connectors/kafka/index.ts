import type { Log } from '../../runtime/log/log.ts'
import { KafkaLog } from './log.ts'
import { resolveOptions, type KafkaLogOptions } from './options.ts'

export type { KafkaLogOptions }

/**
 * Opens the Log on a Kafka cluster (`transport.kafka` of the runtime configuration). Unreachable
 * brokers are retried with backoff, each attempt logged, for `startTimeoutMs` (60 s by default);
 * then it fails with the retriable TRIB_KAFKA_UNAVAILABLE. Rejected credentials fail at once
 * (TRIB_KAFKA_AUTH).
 */
export function openKafkaLog(options: KafkaLogOptions): Promise<Log> {
  return KafkaLog.open(resolveOptions(options))
}
