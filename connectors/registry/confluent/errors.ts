import { TributaryError } from '../../../runtime/errors.ts'
import { codeForConfluentError } from '../../../runtime/registry/confluent-errors.ts'

/**
 * Confluent's error answers (`{ error_code, message }`) as TributaryErrors. Registry errors keep
 * their TRIB_REGISTRY_* code (the same table the embedded REST API answers with), so callers see
 * the same codes from both adapters.
 */

export interface FailedRequest {
  displayUrl: string
  method: string
  route: string
  user: string | undefined
}

/** Statuses worth another attempt: the server failed, or asked us to come back later. */
export const isRetriableStatus = (status: number): boolean => status >= 500 || status === 408 || status === 429

export function errorForResponse(request: FailedRequest, status: number, body: unknown): TributaryError {
  const { displayUrl, method, route, user } = request
  const { errorCode, message } = errorBody(body)
  const details = { url: displayUrl, method, route, status, ...(errorCode === undefined ? {} : { errorCode }) }
  const said = message ? `: ${message}` : ''
  if (status === 401) {
    const who = user === undefined ? 'without credentials (set registry.username and registry.password)' : `as user ${user}`
    return new TributaryError('TRIB_REGISTRY_UNAUTHORIZED', `schema registry ${displayUrl} refused ${method} ${route} ${who} (HTTP 401)${said}`, { details })
  }
  if (status === 403) {
    const who = user === undefined ? 'anonymous requests' : `user ${user}`
    return new TributaryError('TRIB_REGISTRY_UNAUTHORIZED', `schema registry ${displayUrl} does not allow ${who} to ${method} ${route} (HTTP 403)${said}`, { details })
  }
  const code = errorCode === undefined ? undefined : codeForConfluentError(errorCode)
  if (code !== undefined && status < 500) {
    return new TributaryError(code, `schema registry ${displayUrl}: ${message || code} (error ${errorCode} on ${method} ${route})`, { details })
  }
  if (isRetriableStatus(status)) {
    return new TributaryError('TRIB_REGISTRY_UNAVAILABLE', `schema registry ${displayUrl} failed ${method} ${route} (HTTP ${status}${errorCode ? `, error ${errorCode}` : ''})${said}`, {
      details,
    })
  }
  // A Confluent-shaped error we have no code for (read-only mode, references…) speaks for itself;
  // anything else suggests the URL does not lead to a registry.
  const hint = errorCode === undefined ? '; is registry.url a Confluent-compatible schema registry?' : ''
  return new TributaryError(
    'TRIB_REGISTRY_BAD_RESPONSE',
    `schema registry ${displayUrl} answered ${method} ${route} with HTTP ${status}${errorCode ? ` error ${errorCode}` : ''}${said}${hint}`,
    { details },
  )
}

/** A 2xx answer whose body is not what the Confluent API promises. */
export function unexpectedBody(request: FailedRequest, expected: string, body: unknown): TributaryError {
  const shown = JSON.stringify(body)?.slice(0, 200) ?? String(body)
  return new TributaryError(
    'TRIB_REGISTRY_BAD_RESPONSE',
    `schema registry ${request.displayUrl} answered ${request.method} ${request.route} with ${shown}, expected ${expected}`,
    { details: { url: request.displayUrl, method: request.method, route: request.route } },
  )
}

function errorBody(body: unknown): { errorCode: number | undefined; message: string } {
  if (body !== null && typeof body === 'object') {
    const b = body as { error_code?: unknown; message?: unknown }
    return {
      errorCode: typeof b.error_code === 'number' ? b.error_code : undefined,
      message: typeof b.message === 'string' ? b.message : '',
    }
  }
  return { errorCode: undefined, message: typeof body === 'string' ? body.slice(0, 200) : '' }
}
