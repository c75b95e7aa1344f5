import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { AccessControl, Need } from '../access/access.ts'
import type { Audit } from '../access/audit.ts'
import type { Identity } from '../access/principal.ts'
import { TributaryError, messageOf } from '../errors.ts'
import { moduleLogger } from '../logger.ts'
import { httpError, readJson } from './respond.ts'
import type { Route, Router } from './router.ts'

const logger = moduleLogger('http')

/** Writes an error in a route family's shape (Tributary's, or the Confluent REST API's). */
export type ErrorFormat = (res: ServerResponse, e: unknown) => void

/** A family of routes under a path prefix, with the error shape its clients parse. */
export interface Mount {
  /** `''` for the root, `/registry` for the registry under the container. */
  prefix: string
  router: Router
  sendError: ErrorFormat
}

export interface PipelineOptions {
  access: AccessControl
  audit: Audit
  /** Request bodies above this are refused with 413 (http.maxBodyBytes). */
  maxBodyBytes: number
}

/** What a 401 offers: bearer tokens, and basic auth for Confluent clients. */
const CHALLENGES = ['Bearer realm="tributary"', 'Basic realm="tributary", charset="UTF-8"']

/**
 * One request path for every route family: route match, authentication, the route's declared need,
 * the handler (with the body limit), the family's error shape, and the audit (log and metrics). A
 * new family (the registry, an Iceberg REST catalog) declares its routes' needs and gets all of it.
 */
export function createPipeline(mounts: readonly Mount[], options: PipelineOptions): RequestListener {
  const byPrefix = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length)
  return (req, res) => {
    void handle(req, res)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client that goes away mid-response (a closed subscription) is normal, not a crash.
    const ignore = (e: Error) => logger.debug({ err: e.message }, 'client connection error')
    req.on('error', ignore)
    res.on('error', ignore)
    const url = new URL(req.url ?? '/', 'http://localhost')
    // Read now: a request destroyed mid-body (over the limit) may have let go of its socket by the audit.
    const client = req.socket?.remoteAddress ?? 'unknown'
    const mount = byPrefix.find((m) => m.prefix === '' || url.pathname === m.prefix || url.pathname.startsWith(`${m.prefix}/`))
    const method = req.method ?? 'GET'
    let route: Route | undefined
    let need: Need | undefined
    let who: Identity | 'refused' = null
    let reason: string | undefined
    try {
      if (!mount) throw httpError('TRIB_HTTP_NOT_FOUND', `no route ${method} ${url.pathname}`)
      const matched = mount.router.match(method, url.pathname.slice(mount.prefix.length) || '/')
      route = matched.route
      who = options.access.authenticate(req)
      if (who === 'refused') throw new TributaryError('TRIB_HTTP_UNAUTHORIZED', 'the credential is not valid')
      const caller: Identity = who
      need = route.need(matched.params)
      options.access.require(caller, need)
      await route.handler({
        req,
        res,
        params: matched.params,
        query: url.searchParams,
        who: caller,
        allows: (n) => options.access.allows(caller, n),
        require: (n) => options.access.require(caller, n),
        body: (o) => readJson(req, options.maxBodyBytes, o),
      })
    } catch (e) {
      reason = messageOf(e)
      if (!res.headersSent) {
        logger.debug({ method, path: url.pathname, err: reason }, 'request refused')
        if (e instanceof TributaryError && e.code === 'TRIB_HTTP_UNAUTHORIZED') res.setHeader('www-authenticate', CHALLENGES)
      }
      ;(mount?.sendError ?? fallback)(res, e)
    } finally {
      options.audit.record({
        method,
        route: route ? `${route.method} ${mount!.prefix}${route.pattern}` : 'unmatched',
        path: url.pathname,
        need,
        who,
        status: res.statusCode,
        client,
        ...(reason ? { reason } : {}),
      })
    }
  }
}

function fallback(res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(404).end()
}
