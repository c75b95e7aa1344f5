import { setTimeout as sleep } from 'node:timers/promises'
import { parseExact } from '../../../runtime/codec/json/exact.ts'
import { writeJson } from '../../../runtime/codec/json/write.ts'
import { TributaryError, messageOf } from '../../../runtime/errors.ts'
import type { ErrorModel } from '../../../runtime/lake/catalog/rest/protocol.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import { retry } from '../../../runtime/util/retry.ts'
import type { CatalogAuth } from './auth.ts'

/**
 * One REST catalog's HTTP: JSON in and out with exact int64 (codec/json/exact.ts), the auth header,
 * one token renewal after a 401, and retries with backoff for requests that change nothing (GET,
 * HEAD) on network errors, timeouts, 429 and 502/503/504. A request that changes something is sent
 * once: what happens when it fails is the caller's decision (a commit whose answer is lost has an
 * unknown state and must not be sent again blindly).
 */
const log = moduleLogger('catalog')

export interface Answer {
  status: number
  /** The parsed JSON body (undefined when empty or not JSON). */
  body: unknown
  text: string
}

/** The request never got an answer (network error, timeout): for a write, its effect is unknown. */
export class NoAnswer extends Error {}

export interface RestHttpOptions {
  auth: CatalogAuth
  retries: number
  timeoutMs: number
}

const RETRIED_STATUSES = new Set([429, 502, 503, 504])

export class RestHttp {
  constructor(private readonly options: RestHttpOptions) {}

  /** Sends once (or, for GET and HEAD, with retries); resolves every HTTP answer, rejects with NoAnswer when there is none. */
  async send(method: string, url: string, body?: unknown): Promise<Answer> {
    const idempotent = method === 'GET' || method === 'HEAD'
    // What a retried attempt got: the last one's is the result once the retries are spent.
    const answers = new WeakMap<TributaryError, Answer>()
    try {
      return await retry(
        async () => {
          let answer: Answer
          try {
            answer = await this.#once(method, url, body)
            if (answer.status === 401 && this.options.auth.invalidate()) answer = await this.#once(method, url, body)
          } catch (e) {
            if (idempotent && e instanceof NoAnswer) throw new TributaryError('TRIB_LAKE_CATALOG_UNAVAILABLE', e.message, { cause: e })
            throw e
          }
          if (!idempotent || !RETRIED_STATUSES.has(answer.status)) return answer
          const error = new TributaryError('TRIB_LAKE_CATALOG_UNAVAILABLE', `${method} ${url}: ${describeAnswer(answer)}`)
          answers.set(error, answer)
          throw error
        },
        { what: 'REST catalog request failed', backoff: { initialDelayMs: 100, maxDelayMs: 5000 }, maxAttempts: this.options.retries + 1, logger: log, level: 'debug', context: { method, url } },
      )
    } catch (e) {
      if (!(e instanceof TributaryError)) throw e
      const answer = answers.get(e)
      if (answer) return answer
      throw e.cause instanceof NoAnswer ? e.cause : e
    }
  }

  async #once(method: string, url: string, body: unknown): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' }
    const auth = await this.options.auth.header()
    if (auth) headers.authorization = auth
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    let text: string
    try {
      res = await fetch(url, { method, headers, ...(body !== undefined ? { body: writeJson(body) } : {}), signal: AbortSignal.timeout(this.options.timeoutMs) })
      text = await res.text()
    } catch (e) {
      throw new NoAnswer(`${method} ${url}: ${messageOf(e)}`, { cause: e })
    }
    let parsed: unknown
    if (text.trim() !== '') {
      try {
        parsed = parseExact(text)
      } catch {
        parsed = undefined
      }
    }
    return { status: res.status, body: parsed, text }
  }
}

/** The protocol's error body, when the answer has one. */
export function errorOf(answer: Answer): ErrorModel | undefined {
  const e = (answer.body as { error?: unknown } | undefined)?.error
  if (e && typeof e === 'object' && typeof (e as ErrorModel).message === 'string') return e as ErrorModel
  return undefined
}

/** `HTTP 404 NoSuchTableException: …`, for messages. */
export function describeAnswer(answer: Answer): string {
  const e = errorOf(answer)
  return e ? `HTTP ${answer.status} ${e.type}: ${e.message}` : `HTTP ${answer.status}${answer.text ? `: ${answer.text.slice(0, 200)}` : ''}`
}

/** The error for an answer no caller expected: unauthorized, unavailable, or outside the protocol. */
export function unexpected(what: string, answer: Answer): TributaryError {
  const details = { status: answer.status, type: errorOf(answer)?.type }
  if (answer.status === 401 || answer.status === 403) return new TributaryError('TRIB_LAKE_CATALOG_UNAUTHORIZED', `${what}: the REST catalog refused it (${describeAnswer(answer)})`, { details })
  if (answer.status >= 500 || answer.status === 429) return new TributaryError('TRIB_LAKE_CATALOG_UNAVAILABLE', `${what}: the REST catalog failed (${describeAnswer(answer)})`, { details })
  return new TributaryError('TRIB_LAKE_CATALOG_BAD_RESPONSE', `${what}: unexpected answer from the REST catalog (${describeAnswer(answer)})`, { details })
}
