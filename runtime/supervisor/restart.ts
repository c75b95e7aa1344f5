import { TributaryError, messageOf, type ErrorCode } from '../errors.ts'
import type { Backoff } from '../util/retry.ts'

/**
 * When a runnable fails, what happens next. The decision lives here, in one place (kafkajs' runner
 * keeps its `restartOnFailure` the same way), not in each caller's loop.
 */
export interface RestartPolicy {
  /** Waits between restarts of one runnable: the runtime's one backoff (util/retry.ts). */
  backoff: Backoff
  /**
   * Restarts in a row (without a healthy spell between them) before the product is stopped.
   * Default: no limit while running until stopped (a container waits for its backends), 10 when
   * draining until idle (a run must end).
   */
  maxRestarts?: number
  /** A runnable that has run this long since its last restart starts its backoff over. */
  healthyAfterMs: number
}

export const UNTIL_IDLE_MAX_RESTARTS = 10

export const defaultRestartPolicy: RestartPolicy = Object.freeze({
  backoff: Object.freeze({ initialDelayMs: 500, maxDelayMs: 30_000 }),
  healthyAfterMs: 60_000,
})

/**
 * `resume`: run again as it is (the component rewound to its last commit itself: the Log contract
 * says so of these codes); `restart`: close, wait, start again from the last commit; `stop`: the
 * error will not go away by itself, so the product stops (its runnables only).
 */
export type Decision = 'resume' | 'restart' | 'stop'

const RESUMABLE = new Set<ErrorCode>(['TRIB_LOG_REBALANCED', 'TRIB_KAFKA_TRANSACTION'])

export function decide(error: TributaryError): Decision {
  if (!error.retriable) return 'stop'
  return RESUMABLE.has(error.code) ? 'resume' : 'restart'
}

/** Anything thrown, as a TributaryError: an unexpected one is TRIB_INTERNAL (never retried). */
export const asTributaryError = (e: unknown): TributaryError =>
  e instanceof TributaryError ? e : new TributaryError('TRIB_INTERNAL', messageOf(e), { cause: e })
