/**
 * Exponential backoff with jitter. The jitter spreads retries of many processes that lost a
 * server at the same moment, so they do not all come back in step.
 */

export interface BackoffOptions {
  initialDelayMs: number
  maxDelayMs: number
  /** 0..1: the delay is drawn from [d·(1−jitter), d·(1+jitter)]. */
  jitter?: number
}

/** The delay before retry number `retry` (1 = the first retry). */
export function backoffDelay(retry: number, options: BackoffOptions, random: () => number = Math.random): number {
  const jitter = options.jitter ?? 0.2
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (retry - 1))
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random())))
}
