import { TributaryError, messageOf } from '../../../runtime/errors.ts'
import { parseExact } from '../../../runtime/codec/json/exact.ts'

/**
 * How the client proves itself to a REST catalog: nothing, a bearer token, or OAuth2 client
 * credentials (`<client id>:<secret>`) exchanged for a token at the catalog's token endpoint (or
 * `oauth2ServerUri`), renewed before it expires and once after a 401.
 */
export interface CatalogAuth {
  /** The Authorization header value, or undefined for none. */
  header(): Promise<string | undefined>
  /** The catalog answered 401: forget the token; says whether a new one may help. */
  invalidate(): boolean
}

export const noAuth: CatalogAuth = { header: async () => undefined, invalidate: () => false }

export function bearerAuth(token: string): CatalogAuth {
  return { header: async () => `Bearer ${token}`, invalidate: () => false }
}

export interface ClientCredentials {
  /** Where tokens come from: `<catalog uri>/v1/oauth/tokens` unless the catalog names its own server. */
  tokenUri: string
  credential: string
  scope: string
  timeoutMs: number
}

export function clientCredentialsAuth(options: ClientCredentials): CatalogAuth {
  const colon = options.credential.indexOf(':')
  const [clientId, secret] = colon < 0 ? [undefined, options.credential] : [options.credential.slice(0, colon), options.credential.slice(colon + 1)]
  let token: { value: string; renewAt: number } | undefined
  let pending: Promise<string> | undefined

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_secret: secret, scope: options.scope })
    if (clientId !== undefined) form.set('client_id', clientId)
    let res: Response
    try {
      res = await fetch(options.tokenUri, { method: 'POST', body: form, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(options.timeoutMs) })
    } catch (e) {
      throw new TributaryError('TRIB_LAKE_CATALOG_UNAVAILABLE', `OAuth2 token request to ${options.tokenUri} failed: ${messageOf(e)}`, { cause: e, details: { uri: options.tokenUri } })
    }
    const text = await res.text()
    const body = safeParse(text) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined
    if (res.status >= 500) throw new TributaryError('TRIB_LAKE_CATALOG_UNAVAILABLE', `OAuth2 token request to ${options.tokenUri}: HTTP ${res.status}`, { details: { uri: options.tokenUri, status: res.status } })
    if (!res.ok || typeof body?.access_token !== 'string') {
      // OAuth2 errors name what is wrong (invalid_client…); never the secret, which we do not echo.
      const why = typeof body?.error === 'string' ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}` : `HTTP ${res.status}`
      throw new TributaryError('TRIB_LAKE_CATALOG_UNAUTHORIZED', `OAuth2 token request to ${options.tokenUri} was refused (${why})`, { details: { uri: options.tokenUri, status: res.status } })
    }
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600
    // Renewed at 90% of its life, so a request never carries a token about to expire.
    token = { value: body.access_token, renewAt: Date.now() + seconds * 900 }
    return body.access_token
  }

  return {
    async header() {
      if (!token || Date.now() >= token.renewAt) {
        pending ??= fetchToken().finally(() => (pending = undefined))
        return `Bearer ${await pending}`
      }
      return `Bearer ${token.value}`
    },
    invalidate() {
      token = undefined
      return true
    },
  }
}

function safeParse(text: string): unknown {
  try {
    return parseExact(text)
  } catch {
    return undefined
  }
}
