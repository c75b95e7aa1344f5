import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types'

/**
 * The SDK's retry loop with our backoff: exponential with jitter (half to all of the doubled delay), capped, for errors the SDK
 * classifies as throttling, transient (timeouts, refused or reset connections, 500/502/503/504) or
 * server errors (other 5xx). Client errors (4xx: missing key, bad credentials, failed
 * precondition) are never retried. The SDK's standard strategy retries a refused connection after
 * a few tens of milliseconds, too soon for a server that is restarting.
 */
export interface BackoffOptions {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

class Token implements RetryToken {
  constructor(
    private readonly count: number,
    private readonly delay: number,
  ) {}
  getRetryCount(): number {
    return this.count
  }
  getRetryDelay(): number {
    return this.delay
  }
}

export function backoffStrategy(options: BackoffOptions): RetryStrategyV2 {
  return {
    async acquireInitialRetryToken() {
      return new Token(0, 0)
    },
    async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo) {
      const retries = token.getRetryCount()
      if (info.errorType === 'CLIENT_ERROR' || retries + 1 >= options.maxAttempts) throw info.error ?? new Error('no more retries')
      const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retries)
      // Throttled requests wait at least what the server asked for.
      const hinted = info.retryAfterHint ? Math.max(0, info.retryAfterHint.getTime() - Date.now()) : 0
      return new Token(retries + 1, Math.max(hinted, cap / 2 + (Math.random() * cap) / 2))
    },
    recordSuccess() {},
  }
}
