import type { IncomingMessage, ServerResponse } from 'node:http'
import { writeJson } from '../codec/json/write.ts'
import { TributaryError, messageOf, type ErrorCode } from '../errors.ts'

/** HTTP status for an error code: client mistakes are 4xx with the code in a JSON body. */
const statuses: Partial<Record<ErrorCode, number>> = {
  TRIB_HTTP_NOT_FOUND: 404,
  TRIB_HTTP_METHOD_NOT_ALLOWED: 405,
  TRIB_HTTP_BAD_REQUEST: 400,
  TRIB_HTTP_BODY_TOO_LARGE: 413,
  TRIB_HTTP_UNAUTHORIZED: 401,
  TRIB_HTTP_FORBIDDEN: 403,
  TRIB_HTTP_TOO_MANY_STREAMS: 429,
  TRIB_HTTP_NOT_READY: 503,
  TRIB_PRODUCT_NOT_FOUND: 404,
  TRIB_TOPIC_NOT_FOUND: 404,
  TRIB_LAKE_NOT_FOUND: 404,
  TRIB_LAKE_SNAPSHOT_NOT_FOUND: 404,
  TRIB_QUERY_UNKNOWN_TABLE: 404,
  TRIB_QUERY_INVALID: 400,
  TRIB_QUERY_FORBIDDEN: 400,
  TRIB_QUERY_FAILED: 422,
  TRIB_USAGE: 400,
  TRIB_SPEC_INVALID: 400,
}

export const httpError = (code: ErrorCode, message: string): TributaryError => new TributaryError(code, message)

/** The HTTP status of an error: its code's, else 503 for retriable ones and 500 for the rest. */
export const statusOf = (e: unknown): number => (e instanceof TributaryError ? (statuses[e.code] ?? (e.retriable ? 503 : 500)) : 500)

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = writeJson(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

export function sendError(res: ServerResponse, e: unknown): void {
  const code: ErrorCode = e instanceof TributaryError ? e.code : 'TRIB_INTERNAL'
  const status = statusOf(e)
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJson(res, status, { error: { code, message: messageOf(e) } })
}

/** The request body as JSON, refused beyond `limit` bytes (without reading the rest); `optional`: empty is undefined. */
export async function readJson(req: IncomingMessage, limit: number, options: { optional?: boolean } = {}): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw httpError('TRIB_HTTP_BODY_TOO_LARGE', `the body is ${declared} bytes; the limit is ${limit}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw httpError('TRIB_HTTP_BODY_TOO_LARGE', `the body exceeds the ${limit}-byte limit`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') {
    if (options.optional) return undefined
    throw httpError('TRIB_HTTP_BAD_REQUEST', 'expected a JSON body')
  }
  try {
    return JSON.parse(text) as unknown
  } catch (e) {
    throw httpError('TRIB_HTTP_BAD_REQUEST', `the body is not valid JSON (${messageOf(e)})`)
  }
}
