import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Identity, Principal } from './principal.ts'

/**
 * Turns a request's credentials into a principal. Contract: returns the principal a credential of
 * its kind proves, or `undefined` when the request carries no such credential or it proves nobody.
 * It never throws, logs or keeps the credential. Bearer tokens and HTTP basic auth are the two here;
 * an mTLS authenticator (the TLS socket's peer certificate) or an OIDC one (a verified JWT) fits the
 * same signature.
 */
export type Authenticator = (req: IncomingMessage) => Principal | undefined

/** The request's principal; `null` without credentials; 'refused' for credentials no authenticator accepts. */
export function authenticate(req: IncomingMessage, authenticators: readonly Authenticator[]): Identity | 'refused' {
  for (const a of authenticators) {
    const principal = a(req)
    if (principal) return principal
  }
  // A credential nobody accepts is refused, never downgraded to anonymous.
  return req.headers.authorization === undefined ? null : 'refused'
}

interface Entry {
  digest: Buffer
  principal: Principal
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()

/**
 * Compares a presented secret with every configured one in constant time: fixed-length digests, and
 * no early exit, so neither the length of a secret nor which entry matched shows in the timing.
 */
function lookup(entries: readonly Entry[], presented: string): Principal | undefined {
  const given = digest(presented)
  let found: Principal | undefined
  for (const e of entries) if (timingSafeEqual(given, e.digest)) found = e.principal
  return found
}

function credential(req: IncomingMessage, scheme: string): string | undefined {
  const header = req.headers.authorization
  if (!header) return undefined
  const space = header.indexOf(' ')
  if (space < 0 || header.slice(0, space).toLowerCase() !== scheme) return undefined
  return header.slice(space + 1).trim()
}

/** `Authorization: Bearer <token>`, against the configured tokens. */
export function bearerTokens(tokens: ReadonlyArray<{ token: string; principal: Principal }>): Authenticator {
  const entries = tokens.map((t) => ({ digest: digest(t.token), principal: t.principal }))
  return (req) => {
    const token = credential(req, 'bearer')
    return token === undefined || token === '' ? undefined : lookup(entries, token)
  }
}

/** `Authorization: Basic base64(user:password)` (RFC 7617), what Confluent clients send. */
export function basicAuth(users: ReadonlyArray<{ username: string; password: string; principal: Principal }>): Authenticator {
  const entries = users.map((u) => ({ digest: digest(`${u.username}:${u.password}`), principal: u.principal }))
  return (req) => {
    const encoded = credential(req, 'basic')
    if (encoded === undefined || encoded === '') return undefined
    const decoded = Buffer.from(encoded, 'base64').toString('utf8')
    return decoded.includes(':') ? lookup(entries, decoded) : undefined
  }
}
