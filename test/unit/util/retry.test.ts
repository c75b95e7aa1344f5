import { describe, expect, it } from 'vitest'
import { TributaryError } from '../../../runtime/errors.ts'
import { logger } from '../../../runtime/logger.ts'
import { backoffDelay, retry, type RetryOptions } from '../../../runtime/util/retry.ts'

/** A logger that records what it is given. */
function recording(): { lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }>; log: RetryOptions['logger'] } {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = []
  const log = Object.create(logger) as RetryOptions['logger']
  for (const level of ['warn', 'info', 'debug'] as const)
    (log as unknown as Record<string, unknown>)[level] = (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg })
  return { lines, log }
}

const unavailable = (n: number) => new TributaryError('TRIB_KAFKA_UNAVAILABLE', `broker down (${n})`)
const fast = { initialDelayMs: 1, maxDelayMs: 4 }

describe('backoffDelay', () => {
  it('doubles from the first delay up to the cap, jittered around it', () => {
    const b = { initialDelayMs: 100, maxDelayMs: 1_000 }
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, b, () => 0.5))).toEqual([100, 200, 400, 800, 1_000, 1_000])
    expect(backoffDelay(1, b, () => 0)).toBe(80)
    expect(backoffDelay(1, b, () => 1)).toBe(120)
    expect(backoffDelay(3, { ...b, jitter: 0.5 }, () => 0)).toBe(200)
    // Far past the cap: no overflow to Infinity or NaN.
    expect(backoffDelay(5_000, b, () => 0.5)).toBe(1_000)
  })
})

describe('retry', () => {
  it('retries retriable errors until the operation succeeds, logging each retry once', async () => {
    const { lines, log } = recording()
    const attempts: number[] = []
    const result = await retry(
      async (attempt) => {
        attempts.push(attempt)
        if (attempt < 3) throw unavailable(attempt)
        return 'done'
      },
      { what: 'reaching the broker', backoff: fast, logger: log, context: { brokers: 'b:9092' } },
    )
    expect(result).toBe('done')
    expect(attempts).toEqual([1, 2, 3])
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'reaching the broker; retrying', fields: { brokers: 'b:9092', attempt: 1, code: 'TRIB_KAFKA_UNAVAILABLE', cause: 'broker down (1)' } })
    expect(lines[1]!.fields.attempt).toBe(2)
  })

  it('throws a non-retriable error at once, and anything that is not a TributaryError', async () => {
    const { lines, log } = recording()
    let calls = 0
    const denied = new TributaryError('TRIB_KAFKA_AUTH', 'bad password')
    await expect(retry(async () => { calls++; throw denied }, { what: 'x', backoff: fast, logger: log })).rejects.toBe(denied)
    const native = new Error('boom')
    await expect(retry(async () => { calls++; throw native }, { what: 'x', backoff: fast, logger: log })).rejects.toBe(native)
    expect(calls).toBe(2)
    expect(lines).toHaveLength(0)
  })

  it('decides on what the classifier makes of a native error', async () => {
    const { log } = recording()
    let calls = 0
    const result = await retry(
      async () => {
        if (++calls < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' })
        return calls
      },
      { what: 'x', backoff: fast, logger: log, classify: (e) => new TributaryError('TRIB_LAKE_STORAGE', String((e as Error).message), { cause: e }) },
    )
    expect(result).toBe(3)
  })

  it('retries only what retryOn allows', async () => {
    const { log } = recording()
    let calls = 0
    const storage = new TributaryError('TRIB_LAKE_STORAGE', 'disk')
    await expect(retry(async () => { calls++; throw storage }, { what: 'x', backoff: fast, logger: log, retryOn: (e) => e.code === 'TRIB_LAKE_COMMIT_RETRIES' })).rejects.toBe(storage)
    expect(calls).toBe(1)
  })

  it('gives up after maxAttempts with the last error, or what giveUp makes of it', async () => {
    const { lines, log } = recording()
    let calls = 0
    await expect(retry(async () => { throw unavailable(++calls) }, { what: 'x', backoff: fast, maxAttempts: 4, logger: log })).rejects.toThrow('broker down (4)')
    expect(calls).toBe(4)
    expect(lines).toHaveLength(3)
    const wrapped = await retry(async () => { throw unavailable(0) }, {
      what: 'x',
      backoff: fast,
      maxAttempts: 2,
      logger: log,
      giveUp: (e, attempts) => new TributaryError('TRIB_REGISTRY_UNAVAILABLE', `${attempts} attempts: ${e.message}`),
    }).catch((e: unknown) => e as TributaryError)
    expect(wrapped.message).toBe('2 attempts: broker down (0)')
  })

  it('gives up when the next wait would pass the deadline', async () => {
    const { log } = recording()
    let calls = 0
    const started = Date.now()
    await expect(
      retry(async () => { calls++; throw unavailable(calls) }, { what: 'x', backoff: { initialDelayMs: 40, maxDelayMs: 40, jitter: 0 }, deadlineMs: 100, logger: log }),
    ).rejects.toThrow(/broker down/)
    // Waits of 40 ms: after the second wait (80 ms) a third would end past 100 ms.
    expect(calls).toBe(3)
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('an abort ends the wait at once, throwing the last error', async () => {
    const { log } = recording()
    const abort = new AbortController()
    const started = Date.now()
    const pending = retry(async () => { throw unavailable(1) }, { what: 'x', backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 }, signal: abort.signal, logger: log })
    setTimeout(() => abort.abort(), 20)
    await expect(pending).rejects.toThrow('broker down (1)')
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('tells onRetry about every retry, with the wait it chose', async () => {
    const { log } = recording()
    const seen: Array<[number, number, string]> = []
    await retry(
      async (attempt) => {
        if (attempt < 3) throw unavailable(attempt)
      },
      { what: 'x', backoff: { initialDelayMs: 2, maxDelayMs: 3, jitter: 0 }, logger: log, onRetry: (r) => seen.push([r.attempt, r.delayMs, r.error.message]) },
    )
    expect(seen).toEqual([
      [1, 2, 'broker down (1)'],
      [2, 3, 'broker down (2)'],
    ])
  })
})
