import { SchemaRegistry as LibraryClient } from '@kafkajs/confluent-schema-registry'
import { TributaryError } from '../../../runtime/errors.ts'
import type { ResolvedOptions } from './options.ts'

/**
 * The Confluent endpoints that @kafkajs/confluent-schema-registry has resources for, through its
 * mappersmith client (`registry.api`): it builds the requests (paths with encoded parameters,
 * query strings, the Confluent content type, basic auth, its User-Agent) and sends them over
 * node:http. Its high-level methods do not fit the interface: `register` pins a subject's level to
 * BACKWARD on first use, `getSchema` answers a parsed avsc Type rather than the text, and the
 * lookups answer the id alone.
 *
 * Two of its behaviours are switched off, because client.ts does them for both transports:
 * - Retries. Its retry middleware retries GETs only, on 5xx and some network error codes but not
 *   on 408 / 429 or a timeout, and its timers cannot be cancelled by close(). Retrying twice would
 *   multiply attempts, so the library's is set to 0 retries and client.ts keeps the one policy.
 *   Beware: the library merges `retry` into a module-level default object (Object.assign), so the
 *   last SchemaRegistry created in the process with retry options sets them for all of them. Nothing
 *   else in Tributary creates one.
 * - Error mapping. Its error middleware turns a failed answer into a ResponseError holding the
 *   status and the body's `message` only: Confluent's `error_code`, which tells 40401 from 40402,
 *   is lost, and a refused connection looks like an HTTP 400. `settle` below runs innermost, next
 *   to the gateway, and hands every exchange back as a resolved Response, so the library's error
 *   middleware never fires and errors.ts maps the status and the whole body.
 */

/** mappersmith's Response, as far as this module reads it. */
export interface ApiResponse {
  status(): number
  rawData(): unknown
  /** Set when no answer came: a network error, or the request's signal aborted. */
  error(): Error | null
}

/** A resource method; `params` fills the path, the rest goes to the query (see mappersmith). */
type Resource = (params: Record<string, unknown>) => Promise<ApiResponse>

export interface RegistryApi {
  Schema: { find: Resource }
  Subject: Record<'all' | 'latestVersion' | 'version' | 'registered' | 'config' | 'updateConfig' | 'register' | 'compatible', Resource>
}

/** Params every call adds: the request's signal (timeout and close) and the Accept header. */
export interface CallParams {
  signal: AbortSignal
  headers: Record<string, string>
}

/** The library's client id: its User-Agent becomes `@kafkajs/confluent-schema-registry (tributary)`. */
export const CLIENT_ID = 'tributary'

/** A failed exchange resolves like a successful one; any other rejection passes through. */
function settle() {
  return {
    response: (next: () => Promise<ApiResponse>) => next().catch((failed: unknown) => (isResponse(failed) ? failed : Promise.reject(failed))),
  }
}

const isResponse = (value: unknown): value is ApiResponse =>
  typeof (value as Partial<ApiResponse> | null)?.status === 'function' && typeof (value as Partial<ApiResponse>).rawData === 'function'

export function openRegistryApi(options: ResolvedOptions): RegistryApi {
  const library = new LibraryClient({
    host: options.baseUrl,
    clientId: CLIENT_ID,
    retry: { retries: 0 },
    ...(options.auth === undefined ? {} : { auth: options.auth }),
  })
  // `api` is declared private, and the middleware list is mappersmith's manifest: the only way in
  // below the library's error middleware. Checked, so that a change there fails at open.
  const api = (library as unknown as { api: RegistryApi & { _manifest?: { middleware?: unknown } } }).api
  const middleware = api._manifest?.middleware
  if (!Array.isArray(middleware) || typeof api.Subject?.version !== 'function') {
    throw new TributaryError(
      'TRIB_CONFIG_INVALID',
      'registry confluent: the installed @kafkajs/confluent-schema-registry no longer exposes its mappersmith client (api._manifest.middleware); the adapter needs 3.9.x',
      { details: { path: 'registry.kind' } },
    )
  }
  middleware.unshift(settle)
  return api
}
