import { TributaryError } from '../../../runtime/errors.ts'
import type { Config } from '../../../runtime/config/schema.ts'

/**
 * Options of the remote registry adapter: the validated `registry` block of the runtime config,
 * plus tuning knobs that are not configuration (tests shorten the backoff; nobody else needs to).
 */
export interface ConfluentRegistryOptions extends Partial<Config['registry']> {
  /** Per attempt; a timed-out attempt is retried like a network error. Default 30 s. */
  requestTimeoutMs?: number
  /** First backoff delay; doubles per retry up to `maxRetryDelayMs`. Default 100 ms. */
  initialRetryDelayMs?: number
  /** Default 5 s. */
  maxRetryDelayMs?: number
  /** Check at open that the registry answers and accepts the credentials. Default true. */
  checkOnOpen?: boolean
  /** The reachability watch (health(), for readiness): one request to the root this often. Default 2 s. */
  healthIntervalMs?: number
  /** A watch request without an answer by then failed. Default 5 s. */
  healthTimeoutMs?: number
}

export interface ResolvedOptions {
  /** Base URL without credentials and without a trailing slash; requests append `/subjects/…`. */
  baseUrl: string
  /** What messages and logs show: the base URL (it holds no credentials). */
  displayUrl: string
  /** Basic auth, for the library's client and (as `authorization`) for fetch: the same header. */
  auth: { username: string; password: string } | undefined
  authorization: string | undefined
  user: string | undefined
  retries: number
  requestTimeoutMs: number
  initialRetryDelayMs: number
  maxRetryDelayMs: number
  checkOnOpen: boolean
  healthIntervalMs: number
  healthTimeoutMs: number
}

export function resolveOptions(options: ConfluentRegistryOptions): ResolvedOptions {
  if (!options.url) {
    throw new TributaryError('TRIB_CONFIG_INVALID', 'config registry.url: registry confluent needs a url (TRIBUTARY_REGISTRY_URL)', {
      details: { path: 'registry.url' },
    })
  }
  let url: URL
  try {
    url = new URL(options.url)
  } catch (e) {
    throw new TributaryError('TRIB_CONFIG_INVALID', `config registry.url: ${JSON.stringify(options.url)} is not a URL`, { cause: e, details: { path: 'registry.url' } })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TributaryError('TRIB_CONFIG_INVALID', `config registry.url: ${url.protocol} is not supported; use http:// or https://`, {
      details: { path: 'registry.url' },
    })
  }
  // Credentials in the URL (Confluent's basic.auth.credentials.source=URL) are used when the
  // config has none; either way they leave the URL, since fetch refuses URLs that carry them and
  // messages show it.
  const user = options.username ?? (url.username ? decodeURIComponent(url.username) : undefined)
  const password = options.password ?? (url.password ? decodeURIComponent(url.password) : undefined)
  url.username = ''
  url.password = ''
  url.search = ''
  url.hash = ''
  const baseUrl = url.toString().replace(/\/+$/, '')
  return {
    baseUrl,
    displayUrl: baseUrl,
    auth: user === undefined ? undefined : { username: user, password: password ?? '' },
    authorization: user === undefined ? undefined : `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`,
    user,
    retries: options.retries ?? 5,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    initialRetryDelayMs: options.initialRetryDelayMs ?? 100,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 5_000,
    checkOnOpen: options.checkOnOpen ?? true,
    healthIntervalMs: options.healthIntervalMs ?? 2_000,
    healthTimeoutMs: options.healthTimeoutMs ?? 5_000,
  }
}
