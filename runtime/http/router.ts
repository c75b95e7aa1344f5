import type { IncomingMessage, ServerResponse } from 'node:http'
import { httpError } from './respond.ts'

export interface Request {
  req: IncomingMessage
  res: ServerResponse
  params: Record<string, string>
  query: URLSearchParams
}

export type Handler = (r: Request) => Promise<void> | void

interface Route {
  method: string
  parts: string[]
  handler: Handler
}

/** Product and port names as the spec allows them; anything else (dots, slashes, %2e…) is refused. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/

/**
 * A tiny router: `/products/:name/ports/:port/events`. Path parameters are validated against the
 * spec's name rule before any handler sees them, so no path traversal reaches the lake or the log.
 */
export class Router {
  readonly #routes: Route[] = []

  add(method: string, pattern: string, handler: Handler): this {
    this.#routes.push({ method, parts: pattern.split('/').filter(Boolean), handler })
    return this
  }

  /** The handler and params for a request, or a 404/405/400 error. */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } {
    let segments: string[]
    try {
      segments = pathname.split('/').filter(Boolean).map(decodeURIComponent)
    } catch {
      throw httpError('TRIB_HTTP_BAD_REQUEST', `the path ${pathname} is not valid URL encoding`)
    }
    let allowed = false
    for (const route of this.#routes) {
      if (route.parts.length !== segments.length) continue
      const params: Record<string, string> = {}
      const fits = route.parts.every((p, i) => {
        if (p.startsWith(':')) {
          params[p.slice(1)] = segments[i]!
          return true
        }
        return p === segments[i]
      })
      if (!fits) continue
      if (route.method !== method && !(route.method === 'GET' && method === 'HEAD')) {
        allowed = true
        continue
      }
      for (const [k, v] of Object.entries(params))
        if (!NAME.test(v)) throw httpError('TRIB_HTTP_BAD_REQUEST', `${k} ${JSON.stringify(v.slice(0, 80))} is not a valid name (lowercase letters, digits and dashes)`)
      return { handler: route.handler, params }
    }
    if (allowed) throw httpError('TRIB_HTTP_METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname}`)
    throw httpError('TRIB_HTTP_NOT_FOUND', `no route ${method} ${pathname}`)
  }
}
