import { ReachabilityWatch } from '../../runtime/util/reachability.ts'
import type { AdminWire, Driver } from './driver.ts'
import { describe } from './errors.ts'
import { log } from './logger.ts'
import type { ResolvedKafkaOptions } from './options.ts'

/**
 * Whether the brokers answer, for readiness: a client library rides a broker outage out inside its
 * consumers (kafkajs' fetches return nothing, nothing fails), so the processor never sees one. A
 * metadata request every `healthIntervalMs`, on a client of its own, bounded by `healthTimeoutMs`:
 * it tries each listed broker once at most (the libraries move to another seed broker on each retry),
 * so one broker of a larger cluster being down is not an outage. A client that failed a check is
 * made anew for the next.
 */
export function brokerWatch(driver: Driver, options: ResolvedKafkaOptions): ReachabilityWatch {
  let admin: AdminWire | undefined
  return new ReachabilityWatch({
    what: `Kafka brokers ${options.kafka.brokers.join(',')}`,
    intervalMs: options.tuning.healthIntervalMs,
    timeoutMs: options.tuning.healthTimeoutMs,
    check: async () => {
      admin ??= driver.admin(options, 'health', options.kafka.brokers.length - 1, true)
      await admin.connect()
      await admin.describeCluster()
    },
    reset: async () => {
      const dropped = admin
      admin = undefined
      await dropped?.close()
    },
    describe,
    logger: log,
  })
}
