import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { moduleLogger } from '../../../runtime/logger.ts'
import { toConfluentError } from '../../../runtime/registry/confluent-errors.ts'
import type { EmbeddedRegistry } from './registry.ts'
import { HttpError, routeRequest } from './routes.ts'

/**
 * The Confluent Schema Registry REST API over the embedded registry, so third-party clients
 * (Confluent serializers, @kafkajs/confluent-schema-registry, kcat, Kafka UI) work against it.
 * Only AVRO schemas. Answers `application/vnd.schemaregistry.v1+json`; errors are
 * `{ error_code, message }` with Confluent's codes and statuses.
 */

export const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
const MAX_BODY = 16 * 1024 * 1024
const log = moduleLogger('registry')

export type RegistryHttpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void

/** A request handler, mountable in a bigger server. */
export function createRegistryHttpHandler(registry: EmbeddedRegistry): RegistryHttpHandler {
  return (req, res) => {
    void handle(registry, req, res)
  }
}

async function handle(registry: EmbeddedRegistry, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://registry')
    const body = req.method === 'POST' || req.method === 'PUT' ? await readJson(req) : undefined
    const result = await routeRequest(registry, req.method ?? 'GET', url, body)
    send(res, 200, result)
  } catch (e) {
    if (e instanceof HttpError) {
      send(res, e.status, { error_code: e.errorCode, message: e.message })
      return
    }
    const mapped = toConfluentError(e)
    if (mapped.status >= 500) log.error({ err: e, method: req.method, url: req.url }, 'registry request failed')
    send(res, mapped.status, { error_code: mapped.errorCode, message: mapped.message })
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) throw new HttpError(413, 413, `request body exceeds ${MAX_BODY} bytes`)
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch (e) {
    throw new HttpError(400, 400, `request body is not valid JSON: ${(e as Error).message}`)
  }
}

export interface ServeOptions {
  port?: number
  host?: string
}

/** Serves the REST API; port 0 picks a free port (see `url`). */
export async function serveRegistry(registry: EmbeddedRegistry, options: ServeOptions = {}): Promise<{ url: string; close(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1'
  const server = http.createServer(createRegistryHttpHandler(registry))
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
