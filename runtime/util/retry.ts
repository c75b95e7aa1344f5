import { setTimeout as sleep } from 'node:timers/promises'
import { isTributaryError, messageOf, type TributaryError } from '../errors.ts'
import type { Logger } from '../logger.ts'

/**
 * The one retry policy: every adapter (Kafka admin and consumer, the Confluent registry client, S3
 * storage, lake commit races), start-up and the supervisor's restarts use it.
 *
 * - Capped exponential backoff with jitter: the jitter spreads the retries of many processes that
 *   lost a server at the same moment, so they do not all come back in step.
 * - Whether to retry is the TributaryError `retriable` flag. An adapter first maps its native
 *   errors to TributaryErrors (`classify`); a loop may narrow further (`retryOn`), never widen:
 *   a non-retriable error is thrown at once.
 * - Bounded by attempts and/or a deadline, and by an abort signal; the last error is thrown.
 * - Each retry is logged once, naming what is retried, the attempt, the wait and the cause.
 */

export interface Backoff {
  initialDelayMs: number
  maxDelayMs: number
  /** 0..1: the delay is drawn from [d·(1−jitter), d·(1+jitter)]. Default 0.2. */
  jitter?: number
}

/** The delay before retry number `retry` (1 = the first retry). */
export function backoffDelay(retry: number, backoff: Backoff, random: () => number = Math.random): number {
  const jitter = backoff.jitter ?? 0.2
  const base = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** Math.min(retry - 1, 52))
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random())))
}

export interface RetryEvent {
  /** The attempt that failed (1 = the first). */
  attempt: number
  delayMs: number
  error: TributaryError
}

export interface RetryOptions {
  /** What is retried, for the log line, e.g. `Kafka brokers a:9092 unreachable`. */
  what: string
  backoff: Backoff
  /** Attempts in all, the first included. Default: no limit. */
  maxAttempts?: number
  /** Gives up when the next wait would end more than this many ms after the first attempt began. */
  deadlineMs?: number
  /** Stops waiting at once; the last error is thrown. */
  signal?: AbortSignal
  /** Maps an adapter's native error to a TributaryError; what it returns is what is decided on and thrown. */
  classify?: (e: unknown) => unknown
  /** Narrows which retriable errors this loop retries (default: all of them). */
  retryOn?: (e: TributaryError) => boolean
  /** Where each retry is logged (a module's logger); fields of `context` are added to the line. */
  logger: Logger
  context?: Record<string, unknown>
  /** warn by default; debug for retries that are routine (a lost commit race). */
  level?: 'warn' | 'info' | 'debug'
  onRetry?: (event: RetryEvent) => void
  /** The error to throw when attempts or the deadline run out (default: the last error). */
  giveUp?: (error: TributaryError, attempts: number) => unknown
  random?: () => number
}

/**
 * Runs `op` until it succeeds, a failure is not retriable, or the limits are reached. `op` gets the
 * attempt number (1-based), for operations whose outcome depends on whether an earlier attempt may
 * have landed.
 */
export async function retry<T>(op: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt)
    } catch (e) {
      const error = options.classify ? options.classify(e) : e
      if (!isTributaryError(error) || !error.retriable || (options.retryOn && !options.retryOn(error))) throw error
      if (options.signal?.aborted) throw error
      const delayMs = backoffDelay(attempt, options.backoff, options.random)
      const outOfTime = options.deadlineMs !== undefined && Date.now() - started + delayMs > options.deadlineMs
      if ((options.maxAttempts !== undefined && attempt >= options.maxAttempts) || outOfTime) throw options.giveUp ? options.giveUp(error, attempt) : error
      options.logger[options.level ?? 'warn']({ ...options.context, attempt, retryInMs: delayMs, code: error.code, cause: messageOf(error) }, `${options.what}; retrying`)
      options.onRetry?.({ attempt, delayMs, error })
      try {
        await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : {})
      } catch {
        throw error
      }
    }
  }
}

