import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry as MetricsRegistry } from 'prom-client'
import type { AccessControl } from '../../../runtime/access/access.ts'
import { Audit } from '../../../runtime/access/audit.ts'
import { isTributaryError, messageOf } from '../../../runtime/errors.ts'
import { createPipeline, type Mount } from '../../../runtime/http/pipeline.ts'
import { statusOf } from '../../../runtime/http/respond.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import { toConfluentError } from '../../../runtime/registry/confluent-errors.ts'
import type { EmbeddedRegistry } from './registry.ts'
import { HttpError, registryRouter } from './routes.ts'

/**
 * The Confluent Schema Registry REST API over the embedded registry, so third-party clients
 * (Confluent serializers, @kafkajs/confluent-schema-registry, kcat, Kafka UI) work against it.
 * Only AVRO schemas. It runs on the runtime's HTTP pipeline (authentication, the route's need,
 * body limit, audit), answers `application/vnd.schemaregistry.v1+json`, and keeps Confluent's error
 * shape, `{ error_code, message }`, which Confluent clients parse: 401 for missing or wrong
 * credentials, 40301 for a principal without the right, as Confluent's own server answers.
 */

export const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
const log = moduleLogger('registry')

/** Confluent's error codes for what the HTTP layer refuses. */
const httpErrorCodes: Record<number, number> = { 403: 40301 }

export function sendConfluentError(res: http.ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (e instanceof HttpError) return send(res, e.status, { error_code: e.errorCode, message: e.message })
  const status = isTributaryError(e) ? statusOf(e) : 500
  if (isTributaryError(e) && e.code.startsWith('TRIB_HTTP_') && status < 500) return send(res, status, { error_code: httpErrorCodes[status] ?? status, message: e.message })
  const mapped = toConfluentError(e)
  if (mapped.status >= 500) log.error({ err: messageOf(e) }, 'registry request failed')
  send(res, mapped.status, { error_code: mapped.errorCode, message: mapped.message })
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** The registry's routes as a family of the runtime's HTTP pipeline, mounted at `prefix`. */
export function registryMount(registry: EmbeddedRegistry, prefix = ''): Mount {
  return { prefix, router: registryRouter(registry, (r, body) => send(r.res, 200, body)), sendError: sendConfluentError }
}

export interface RegistryHttpOptions {
  /** Who may read and write (closed by default: writes need a principal of access.registryWrite). */
  access: AccessControl
  /** Request bodies above this get 413 (http.maxBodyBytes). */
  maxBodyBytes: number
  /** Where the audit counters go; `/metrics` serves them. */
  metrics?: MetricsRegistry
}

/** A request listener for the REST API alone, with `GET /metrics` for its request counters. */
export function createRegistryHttpHandler(registry: EmbeddedRegistry, options: RegistryHttpOptions): http.RequestListener {
  const metrics = options.metrics ?? new MetricsRegistry()
  const mount = registryMount(registry)
  mount.router.add('GET', '/metrics', { kind: 'open' }, async ({ res }) => {
    const text = await metrics.metrics()
    res.writeHead(200, { 'content-type': metrics.contentType })
    res.end(text)
  })
  return createPipeline([mount], { access: options.access, audit: new Audit(metrics), maxBodyBytes: options.maxBodyBytes })
}

export interface ServeOptions extends RegistryHttpOptions {
  port?: number
  host?: string
}

/** Serves the REST API; port 0 picks a free port (see `url`). */
export async function serveRegistry(registry: EmbeddedRegistry, options: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1'
  const server = http.createServer(createRegistryHttpHandler(registry, options))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  log.info({ url }, 'schema registry REST API listening')
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()))
        server.closeAllConnections()
      }),
  }
}
