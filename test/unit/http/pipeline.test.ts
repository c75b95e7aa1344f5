import { IncomingMessage, ServerResponse } from 'node:http'
import { Duplex } from 'node:stream'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { AccessControl, OPEN } from '../../../runtime/access/access.ts'
import { Audit } from '../../../runtime/access/audit.ts'
import { bearerTokens } from '../../../runtime/access/authenticate.ts'
import { TributaryError } from '../../../runtime/errors.ts'
import { type Mount, createPipeline } from '../../../runtime/http/pipeline.ts'
import { sendError, sendJson } from '../../../runtime/http/respond.ts'
import { Router, productNameRule } from '../../../runtime/http/router.ts'

/**
 * The request path of every HTTP port, driven in process: a request and response over an
 * in-memory socket, no server and no network.
 */
interface Reply {
  status: number
  headers: Record<string, string>
  body: unknown
}

function request(listener: ReturnType<typeof createPipeline>, method: string, url: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const written: Buffer[] = []
  let settle!: (r: Reply) => void
  let fail!: (e: unknown) => void
  const done = new Promise<Reply>((resolve, reject) => {
    settle = resolve
    fail = reject
  })
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(Buffer.from(chunk))
      cb()
    },
  })
  Object.defineProperty(socket, 'remoteAddress', { value: '127.0.0.1' })
  const req = new IncomingMessage(socket as never)
  req.method = method
  req.url = url
  req.headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  if (options.body !== undefined && !req.headers['transfer-encoding']) req.headers['content-length'] ??= String(Buffer.byteLength(options.body))
  req.push(options.body ?? null)
  if (options.body !== undefined) req.push(null)
  // What the HTTP parser sets once the whole body arrived: a request read to its end is not aborted.
  req.complete = true
  const res = new ServerResponse(req)
  res.assignSocket(socket as never)
  res.on('finish', () => {
    try {
      finished()
    } catch (e) {
      fail(new Error(`${String(e)}: ${Buffer.concat(written).toString('utf8')}`))
    }
  })
  const finished = () => {
    const raw = Buffer.concat(written).toString('utf8')
    const [head, ...rest] = raw.split('\r\n\r\n')
    const lines = head!.split('\r\n')
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const name = l.slice(0, l.indexOf(':')).toLowerCase()
      const value = l.slice(l.indexOf(':') + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const text = rest.join('\r\n\r\n')
    settle({ status: res.statusCode, headers, body: text ? (JSON.parse(text) as unknown) : undefined })
  }
  listener(req, res)
  setTimeout(() => fail(new Error(`stuck ${res.statusCode} ${res.writableEnded} ${res.headersSent}: ${Buffer.concat(written).toString()}`)), 1000).unref()
  return done
}

const alice = { name: 'alice', groups: ['admin'] }
const bob = { name: 'bob', groups: [] }
const access = new AccessControl({
  authenticators: [bearerTokens([{ token: 'alice-token', principal: alice }, { token: 'bob-token', principal: bob }])],
  principals: [alice, bob],
  rules: { control: ['group:admin'], registryWrite: ['group:admin'] },
})

function pipeline(maxBodyBytes = 64) {
  const seen: string[] = []
  const router = new Router({ name: productNameRule })
    .add('GET', '/products/:name', OPEN, (r) => sendJson(r.res, 200, { name: r.params.name }))
    .add('POST', '/products/:name/policies', (p) => ({ kind: 'control', product: p.name! }), async (r) => sendJson(r.res, 200, { got: await r.body() }))
    .add('GET', '/boom', OPEN, () => {
      throw new Error('handler bug')
    })
  const other = new Router({}).add('GET', '/subjects', OPEN, (r) => {
    seen.push('registry')
    throw new TributaryError('TRIB_HTTP_NOT_FOUND', 'no subject')
  })
  // A route family with its own error shape (as the registry's Confluent errors).
  const confluentShape: Mount['sendError'] = (res, e) => sendJson(res, 404, { error_code: 40401, message: (e as Error).message })
  const listener = createPipeline(
    [
      { prefix: '', router, sendError },
      { prefix: '/registry', router: other, sendError: confluentShape },
    ],
    { access, audit: new Audit(new Registry()), maxBodyBytes },
  )
  return { listener, seen }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('the HTTP request pipeline and router', () => {
  it('routes a request with its checked path parameter', async () => {
    const { listener } = pipeline()
    expect(await request(listener, 'GET', '/products/orders')).toMatchObject({ status: 200, body: { name: 'orders' } })
    // HEAD is served by the GET route.
    expect((await request(listener, 'HEAD', '/products/orders')).status).toBe(200)
  })

  it('answers an unknown path with 404 and a JSON error naming the code', async () => {
    const { listener } = pipeline()
    const r = await request(listener, 'GET', '/nowhere')
    expect(r).toMatchObject({ status: 404, body: { error: { code: 'TRIB_HTTP_NOT_FOUND' } } })
    expect(r.headers['content-type']).toMatch(/^application\/json/)
  })

  it('answers a known path with the wrong method with 405', async () => {
    const { listener } = pipeline()
    expect(await request(listener, 'DELETE', '/products/orders')).toMatchObject({ status: 405, body: { error: { code: 'TRIB_HTTP_METHOD_NOT_ALLOWED' } } })
  })

  it('refuses a path parameter its rule refuses (encoded slashes, dots, case, bad encoding) with 400 before any handler', async () => {
    const { listener } = pipeline()
    for (const path of ['/products/..%2F..%2Fetc', '/products/a.b', '/products/Orders', '/products/%E0%A4%A'])
      expect(await request(listener, 'GET', path)).toMatchObject({ status: 400, body: { error: { code: 'TRIB_HTTP_BAD_REQUEST' } } })
    // Dot segments are resolved by the URL parser before routing: they never reach a parameter.
    expect(await request(listener, 'GET', '/products/%2e%2e')).toMatchObject({ status: 404, body: { error: { code: 'TRIB_HTTP_NOT_FOUND' } } })
  })

  it('401 with the challenges without a credential, 401 for a wrong one, 403 for a principal without the right, 200 with it', async () => {
    const { listener } = pipeline()
    const post = (headers: Record<string, string>) => request(listener, 'POST', '/products/orders/policies', { headers, body: '{"a":1}' })
    const anonymous = await post({})
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'TRIB_HTTP_UNAUTHORIZED' } } })
    expect(anonymous.headers['www-authenticate']).toContain('Bearer realm="tributary"')
    expect(anonymous.headers['www-authenticate']).toContain('Basic realm="tributary"')
    expect(await post(bearer('not-a-token'))).toMatchObject({ status: 401, body: { error: { code: 'TRIB_HTTP_UNAUTHORIZED' } } })
    expect(await post(bearer('bob-token'))).toMatchObject({ status: 403, body: { error: { code: 'TRIB_HTTP_FORBIDDEN' } } })
    expect(await post(bearer('alice-token'))).toMatchObject({ status: 200, body: { got: { a: 1 } } })
  })

  it('refuses a body beyond maxBodyBytes with 413, declared or streamed, and a body that is not JSON with 400', async () => {
    const { listener } = pipeline(64)
    const post = (body: string, headers: Record<string, string> = {}) =>
      request(listener, 'POST', '/products/orders/policies', { headers: { ...bearer('alice-token'), ...headers }, body })
    const big = JSON.stringify({ x: 'y'.repeat(100) })
    expect(await post(big)).toMatchObject({ status: 413, body: { error: { code: 'TRIB_HTTP_BODY_TOO_LARGE' } } })
    // A chunked body declares no length: the limit holds on the bytes read.
    expect(await post(big, { 'transfer-encoding': 'chunked' })).toMatchObject({ status: 413, body: { error: { code: 'TRIB_HTTP_BODY_TOO_LARGE' } } })
    expect(await post('{"a":1}')).toMatchObject({ status: 200, body: { got: { a: 1 } } })
    expect(await post('{"a":')).toMatchObject({ status: 400, body: { error: { code: 'TRIB_HTTP_BAD_REQUEST' } } })
  })

  it('an unexpected handler error is a 500 TRIB_INTERNAL in the JSON error shape', async () => {
    const { listener } = pipeline()
    expect(await request(listener, 'GET', '/boom')).toMatchObject({ status: 500, body: { error: { code: 'TRIB_INTERNAL', message: expect.stringContaining('handler bug') } } })
  })

  it("errors under a mount's prefix come in that family's shape", async () => {
    const { listener, seen } = pipeline()
    expect(await request(listener, 'GET', '/registry/subjects')).toMatchObject({ status: 404, body: { error_code: 40401, message: 'no subject' } })
    expect(await request(listener, 'GET', '/registry/nothing')).toMatchObject({ status: 404, body: { error_code: 40401 } })
    expect(seen).toEqual(['registry'])
  })

  it('a route cannot declare a parameter without a rule', () => {
    expect(() => new Router({}).add('GET', '/products/:name', OPEN, () => {})).toThrow(/no rule for the parameter :name/)
  })
})
