import { isTributaryError, messageOf } from './errors.ts'
import { retry } from './util/retry.ts'
import type { Config } from './config/schema.ts'
import { moduleLogger } from './logger.ts'
import { openRuntime, type Runtime } from './runtime.ts'

const logger = moduleLogger('startup')

/** Why a process that is opening its backends is not ready yet; read by /readyz. */
export interface StartupStatus {
  attempt: number
  /** What is being opened, e.g. `Kafka 10.0.0.5:9092, registry http://sr:8081, lake s3://lake/mesh`. */
  backends?: string
  /** The last retriable failure: its code and message (they name the broker, endpoint or URL). */
  lastError?: { code: string; message: string }
  retryInMs?: number
}

export interface OpenUntilReadyOptions {
  signal?: AbortSignal
  /** Updated before every attempt and after every failure. */
  status?: StartupStatus
  initialBackoffMs?: number
  maxBackoffMs?: number
  open?: (config: Config) => Promise<Runtime>
}

/**
 * Opens the runtime, retrying as long as the failure is retriable (a broker, S3 server or registry
 * that is down or not up yet): capped exponential backoff, one warning per attempt naming what is
 * unreachable. A container therefore stays up and reports not-ready instead of crash-looping; a
 * failure no retry can fix (bad credentials, a missing bucket, an invalid configuration) is thrown
 * at once with its own clear error. Resolves undefined when the signal aborts first.
 */
export async function openRuntimeUntilReady(config: Config, options: OpenUntilReadyOptions = {}): Promise<Runtime | undefined> {
  const { signal, status = { attempt: 0 }, initialBackoffMs = 1_000, maxBackoffMs = 30_000, open = openRuntime } = options
  status.backends = describeBackends(config)
  if (signal?.aborted) return undefined
  try {
    const runtime = await retry(
      async (attempt) => {
        status.attempt = attempt
        return open(config)
      },
      {
        what: 'backends not reachable at start',
        backoff: { initialDelayMs: initialBackoffMs, maxDelayMs: maxBackoffMs },
        ...(signal ? { signal } : {}),
        logger,
        onRetry: ({ delayMs, error }) => {
          status.lastError = { code: error.code, message: messageOf(error) }
          status.retryInMs = delayMs
        },
      },
    )
    if (status.attempt > 1) logger.info({ attempts: status.attempt }, 'backends reachable')
    delete status.lastError
    delete status.retryInMs
    return runtime
  } catch (e) {
    if (signal?.aborted && isTributaryError(e) && e.retriable) return undefined
    throw e
  }
}

function describeBackends(config: Config): string {
  const t = config.transport
  const log = t.kind === 'kafka' ? `Kafka ${t.kafka.brokers.join(',')}` : 'embedded log'
  const registry = config.registry.kind === 'confluent' ? `registry ${config.registry.url}` : 'embedded registry'
  const lake = config.lake.uri ? `lake ${config.lake.uri}${config.lake.s3.endpoint ? ` at ${config.lake.s3.endpoint}` : ''}` : 'local lake'
  const catalog = config.lake.catalog.kind === 'rest' ? `, REST catalog ${config.lake.catalog.uri}` : ''
  return `${log}, ${registry}, ${lake}${catalog}`
}
