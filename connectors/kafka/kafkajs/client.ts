import kafkajs from 'kafkajs'
import type { KafkaConfig as KafkajsConfig, LogEntry, SASLOptions } from 'kafkajs'
import { log } from '../logger.ts'
import type { ResolvedKafkaOptions } from '../options.ts'

const { Kafka, logLevel } = kafkajs
export type KafkaClient = InstanceType<typeof Kafka>

/**
 * kafkajs messages that are routine in our use and would otherwise read as failures: per-request
 * protocol errors that kafkajs retries or we map ourselves, and the warning about the bounded
 * retries we chose on purpose (see producer.ts).
 */
const ROUTINE = [/^Response \w+\(key: /, /^Limiting retries for the idempotent producer/, /^The group is rebalancing, re-joining/]

/**
 * Routes kafkajs logs into pino: its INFO is chatty, so it becomes debug; DEBUG becomes trace.
 * A failure kafkajs is about to retry (it carries retryCount) is debug too: if the retries run
 * out, the operation fails with a TributaryError that is logged where it is handled.
 */
function logCreator(quiet: boolean): (entry: LogEntry) => void {
  return ({ namespace, level, log: { message, timestamp: _ts, logger: _l, ...extra } }) => {
    const fields = { kafkajs: namespace, ...extra }
    if (quiet) log.debug(fields, message)
    else if (level === logLevel.ERROR || level === logLevel.WARN) {
      if (ROUTINE.some((re) => re.test(message)) || 'retryCount' in extra) log.debug(fields, message)
      else if (level === logLevel.ERROR) log.error(fields, message)
      else log.warn(fields, message)
    } else if (level === logLevel.INFO) log.debug(fields, message)
    else log.trace(fields, message)
  }
}

/** kafkajs' own level follows ours, so it does not even build messages nobody will read. */
function kafkajsLevel(): number {
  if (log.isLevelEnabled('trace')) return logLevel.DEBUG
  if (log.isLevelEnabled('debug')) return logLevel.INFO
  return logLevel.WARN
}

function sasl(options: ResolvedKafkaOptions): SASLOptions | undefined {
  const s = options.kafka.sasl
  if (s === undefined) return undefined
  return { mechanism: s.mechanism, username: s.username, password: s.password } as SASLOptions
}

/**
 * A kafkajs client. Each consumer gets its own: kafkajs keeps committed offsets per group id in a
 * map shared by every consumer of one client, and two consumers of one group (stream threads)
 * would clear each other's entries on every rebalance. A `quiet` client's failures are its
 * owner's to report (the broker watch logs an outage once, not every check's connection error).
 */
export function createClient(options: ResolvedKafkaOptions, role: string, retries = options.tuning.retries, quiet = false): KafkaClient {
  const k = options.kafka
  const config: KafkajsConfig = {
    brokers: [...k.brokers],
    clientId: `${k.clientId}-${role}`,
    ssl: k.ssl,
    connectionTimeout: k.connectionTimeoutMs,
    requestTimeout: k.requestTimeoutMs,
    retry: { initialRetryTime: 250, maxRetryTime: 5_000, retries },
    logLevel: kafkajsLevel(),
    logCreator: () => logCreator(quiet),
  }
  const auth = sasl(options)
  if (auth !== undefined) config.sasl = auth
  return new Kafka(config)
}
