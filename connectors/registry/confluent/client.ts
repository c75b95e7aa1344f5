import { TributaryError, isTributaryError, messageOf } from '../../../runtime/errors.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import { type ApiResponse, type CallParams, type RegistryApi, openRegistryApi } from './api.ts'
import { type FailedRequest, errorForResponse, isRetriableStatus, unexpectedBody } from './errors.ts'
import type { ResolvedOptions } from './options.ts'
import { type Reachability, ReachabilityWatch } from '../../../runtime/util/reachability.ts'
import { retry } from '../../../runtime/util/retry.ts'

/**
 * JSON over HTTP to a Confluent-compatible registry: basic auth, a timeout per attempt, and
 * retries with backoff on network errors, timeouts and 5xx / 408 / 429 answers. Once the retries
 * are spent the caller gets TRIB_REGISTRY_UNAVAILABLE (retriable) naming the URL; any other error
 * answer is mapped at once (see errors.ts). Retrying writes is safe here: registering the same
 * schema again returns the same id, and setting a level or deleting again ends in the same state
 * (or a clear "already deleted" code).
 *
 * A request goes out through @kafkajs/confluent-schema-registry when it names one of the library's
 * resources (`api`, see api.ts), and through fetch otherwise (versions lists, deletes, the global
 * level, compatibility against what the level requires, the root): the library has no resource for
 * those. Both carry the same basic-auth header and run under this one retry loop and timeout.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

export interface RegistryRequest {
  method: Method
  /** Path below the base URL, with its segments already URI-encoded; messages show it. */
  route: string
  /** Query and body of a fetch request; a library call passes its own in `api`. */
  query?: Record<string, string | boolean | undefined>
  body?: unknown
  /** The library's resource for this request; without it the request goes over fetch. */
  api?: (api: RegistryApi, params: CallParams) => Promise<ApiResponse>
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
const ACCEPT = 'application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5'
// Not the library's User-Agent, so that a registry's request log tells the two transports apart.
const FETCH_AGENT = 'tributary'
const log = moduleLogger('registry')

type Attempt = { ok: true; body: unknown } | { ok: false; retriable: boolean; error: TributaryError }

/** An HTTP answer, from either transport; a request that got none throws instead. */
interface Exchange {
  status: number
  text: string
}

export class RegistryClient {
  readonly #options: ResolvedOptions
  readonly #api: RegistryApi
  readonly #closing = new AbortController()
  #watch: ReachabilityWatch | undefined

  constructor(options: ResolvedOptions) {
    this.#options = options
    this.#api = openRegistryApi(options)
  }

  get url(): string {
    return this.#options.displayUrl
  }

  /** The parsed JSON body of a successful answer. */
  async request(req: RegistryRequest): Promise<unknown> {
    const { retries, initialRetryDelayMs, maxRetryDelayMs } = this.#options
    // Answers that say no (404, 409, 422…) are final, whatever their code's flag says.
    const final = new WeakSet<TributaryError>()
    try {
      return await retry(
        async () => {
          const outcome = await this.#attempt(req)
          if (outcome.ok) return outcome.body
          if (!outcome.retriable) final.add(outcome.error)
          throw outcome.error
        },
        {
          what: 'schema registry request failed',
          backoff: { initialDelayMs: initialRetryDelayMs, maxDelayMs: maxRetryDelayMs },
          maxAttempts: retries + 1,
          signal: this.#closing.signal,
          retryOn: (e) => !final.has(e),
          logger: log,
          context: { url: this.url, method: req.method, route: req.route },
          giveUp: (error, attempts) =>
            new TributaryError(
              'TRIB_REGISTRY_UNAVAILABLE',
              `schema registry ${this.url} is unavailable: ${req.method} ${req.route} failed ${attempts} time${attempts > 1 ? 's' : ''} (registry.retries is ${retries}); last: ${error.message}`,
              { cause: error, details: { url: this.url, method: req.method, route: req.route, attempts } },
            ),
        },
      )
    } catch (e) {
      if (this.#closing.signal.aborted) throw this.#closedError(req)
      throw e
    }
  }

  /**
   * One request to the root, no retries, for the reachability watch: resolves when the registry
   * answered; throws when it did not (within `timeoutMs`), answered 5xx, or refused the credentials.
   */
  async probe(timeoutMs: number): Promise<void> {
    const outcome = await this.#attempt({ method: 'GET', route: '/' }, timeoutMs)
    if (outcome.ok || !(isTributaryError(outcome.error, 'TRIB_REGISTRY_UNAVAILABLE') || isTributaryError(outcome.error, 'TRIB_REGISTRY_UNAUTHORIZED'))) return
    throw outcome.error
  }

  /**
   * Whether the registry answers now, for readiness: the first call starts a watch (one request to
   * the root every healthIntervalMs). A product asks the registry only for schemas it has not
   * cached, so an outage would otherwise show only when a new writer schema arrives.
   */
  health(): Reachability {
    if (this.#closing.signal.aborted) return { reachable: true }
    const { healthIntervalMs, healthTimeoutMs } = this.#options
    this.#watch ??= new ReachabilityWatch({
      what: `schema registry ${this.url}`,
      intervalMs: healthIntervalMs,
      timeoutMs: healthTimeoutMs,
      check: () => this.probe(healthTimeoutMs),
      logger: log,
    }).start()
    return this.#watch.health()
  }

  /** Aborts requests in flight and their retries; later requests fail at once. */
  close(): void {
    this.#closing.abort()
    void this.#watch?.close()
  }

  async #attempt(req: RegistryRequest, timeoutMs = this.#options.requestTimeoutMs): Promise<Attempt> {
    if (this.#closing.signal.aborted) throw this.#closedError(req)
    const failed: FailedRequest = { displayUrl: this.url, method: req.method, route: req.route, user: this.#options.user }
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = AbortSignal.any([this.#closing.signal, timeout])
    let exchange: Exchange
    try {
      exchange = req.api ? await this.#viaLibrary(req.api, signal) : await this.#viaFetch(req, signal)
    } catch (e) {
      if (this.#closing.signal.aborted) throw this.#closedError(req)
      const reason = timeout.aborted ? `no answer within ${timeoutMs} ms` : networkReason(e)
      const error = new TributaryError('TRIB_REGISTRY_UNAVAILABLE', `schema registry ${this.url}: ${req.method} ${req.route} failed: ${reason}`, {
        cause: e,
        details: { url: this.url, method: req.method, route: req.route },
      })
      return { ok: false, retriable: true, error }
    }
    const { status } = exchange
    const body = parseBody(exchange.text)
    if (status >= 200 && status < 300) {
      if (body instanceof NotJson) return { ok: false, retriable: false, error: unexpectedBody(failed, 'JSON', body.text) }
      return { ok: true, body }
    }
    const error = errorForResponse(failed, status, body instanceof NotJson ? body.text : body)
    return { ok: false, retriable: isRetriableStatus(status) && isTributaryError(error, 'TRIB_REGISTRY_UNAVAILABLE'), error }
  }

  async #viaLibrary(call: NonNullable<RegistryRequest['api']>, signal: AbortSignal): Promise<Exchange> {
    const res = await call(this.#api, { signal, headers: { accept: ACCEPT } })
    const error = res.error()
    if (error) throw error
    return { status: res.status(), text: String(res.rawData() ?? '') }
  }

  async #viaFetch(req: RegistryRequest, signal: AbortSignal): Promise<Exchange> {
    const headers: Record<string, string> = { accept: ACCEPT, 'user-agent': FETCH_AGENT }
    if (this.#options.authorization) headers.authorization = this.#options.authorization
    if (req.body !== undefined) headers['content-type'] = CONTENT_TYPE
    const res = await fetch(this.#urlOf(req), {
      method: req.method,
      headers,
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      signal,
      redirect: 'follow',
    })
    return { status: res.status, text: await res.text() }
  }

  #urlOf(req: RegistryRequest): string {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined && v !== false) params.set(k, String(v))
    const query = params.size > 0 ? `?${params}` : ''
    return `${this.#options.baseUrl}${req.route}${query}`
  }

  #closedError(req: RegistryRequest): TributaryError {
    return new TributaryError('TRIB_REGISTRY_UNAVAILABLE', `schema registry ${this.url}: ${req.method} ${req.route} abandoned, the registry client is closed`, {
      details: { url: this.url, method: req.method, route: req.route },
    })
  }
}

class NotJson {
  constructor(readonly text: string) {}
}

function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return new NotJson(text.slice(0, 500))
  }
}

/**
 * "connect ECONNREFUSED 127.0.0.1:8081": node:http's error as the library hands it back, or the
 * cause under undici's bare "fetch failed".
 */
function networkReason(e: unknown): string {
  const error = e instanceof TypeError && e.cause instanceof Error ? e.cause : e
  if (!(error instanceof Error)) return messageOf(e)
  const code = (error as Error & { code?: string }).code
  // Node reports a refused dual-stack connect as an AggregateError with a code and no message.
  if (!error.message) return code ?? error.name
  return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message
}
