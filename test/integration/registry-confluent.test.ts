import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openConfluentRegistry } from '../../connectors/registry/confluent/index.ts'
import { failure } from '../helpers/runtime.ts'
import { maxBodyBytes, registryWriter, writerAccess } from '../helpers/access.ts'
import { type EmbeddedRegistry, createRegistryHttpHandler, openEmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'

// The remote adapter's HTTP behaviour on real sockets: the embedded registry's REST handler behind
// small front servers that demand credentials, fail, stall, or are not a registry at all.

type Front = (req: http.IncomingMessage, res: http.ServerResponse, pass: () => void) => void

const schema = { type: 'record', name: 'contract.Conn', fields: [{ name: 'id', type: 'long' }] }
let dir: string
let embedded: EmbeddedRegistry
const servers: http.Server[] = []

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-registry-confluent-'))
  embedded = await openEmbeddedRegistry({ dir })
})
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((resolve) => s.close(resolve))
  }
})
afterAll(async () => {
  await embedded.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** A server on 127.0.0.1 that runs `front` and can hand the request to the registry; counts requests. */
async function serve(front: Front): Promise<{ url: string; hits: string[] }> {
  const handler = createRegistryHttpHandler(embedded, { access: writerAccess(), maxBodyBytes })
  const writer = `Basic ${Buffer.from(`${registryWriter.username}:${registryWriter.password}`).toString('base64')}`
  const hits: string[] = []
  // The fronts stand for the registry's own authentication; what they let through reaches it as the writer.
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`)
    front(req, res, () => {
      req.headers.authorization = writer
      handler(req, res)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

const fast = { initialRetryDelayMs: 10, maxRetryDelayMs: 50 }


const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' })
  res.end(JSON.stringify(body))
}

describe('basic auth', () => {
  // Confluent's answers: 401 for unknown credentials, 403 for a user without the permission.
  const users: Record<string, string> = { writer: 's3cret', reader: 'r3ad' }
  const authFront: Front = (req, res, pass) => {
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ')
    const [user, password] = Buffer.from(encoded ?? '', 'base64').toString().split(':')
    if (scheme !== 'Basic' || !user || users[user] !== password) return json(res, 401, { error_code: 401, message: 'Unauthorized' })
    if (user === 'reader' && req.method !== 'GET') return json(res, 403, { error_code: 40301, message: 'User is denied operation Write on this server' })
    pass()
  }

  it('sends the configured credentials', async () => {
    const { url } = await serve(authFront)
    const registry = await openConfluentRegistry({ url, username: 'writer', password: 's3cret', retries: 0 })
    const { id } = await registry.register('auth-value', schema)
    expect((await registry.getVersion('auth-value', 'latest')).id).toBe(id)
    await registry.close()
  })

  it('takes credentials from the URL, and keeps them out of messages', async () => {
    const { url } = await serve(authFront)
    const withUser = url.replace('http://', 'http://writer:s3cret@')
    const registry = await openConfluentRegistry({ url: withUser, retries: 0 })
    expect(registry.url).toBe(url)
    expect((await registry.listSubjects()).length).toBeGreaterThanOrEqual(0)
    await registry.close()
  })

  it('fails at open with TRIB_REGISTRY_UNAUTHORIZED for wrong or missing credentials, without retrying', async () => {
    const { url, hits } = await serve(authFront)
    const wrong = await failure(openConfluentRegistry({ url, username: 'writer', password: 'nope', retries: 3, ...fast }))
    expect(wrong.code).toBe('TRIB_REGISTRY_UNAUTHORIZED')
    expect(wrong.retriable).toBe(false)
    expect(wrong.message).toContain(url)
    expect(wrong.message).toContain('writer')
    expect(wrong.message).not.toContain('nope')
    expect(JSON.stringify(wrong.details)).not.toContain('nope')
    expect(hits).toHaveLength(1)
    const none = await failure(openConfluentRegistry({ url, retries: 0 }))
    expect(none.code).toBe('TRIB_REGISTRY_UNAUTHORIZED')
    expect(none.message).toMatch(/registry\.username/)
  })

  it('maps 403 to TRIB_REGISTRY_UNAUTHORIZED naming the user and the request', async () => {
    const { url } = await serve(authFront)
    const registry = await openConfluentRegistry({ url, username: 'reader', password: 'r3ad', retries: 0 })
    const e = await failure(registry.register('auth-value', schema))
    expect(e.code).toBe('TRIB_REGISTRY_UNAUTHORIZED')
    expect(e.message).toMatch(/user reader .*POST \/subjects\/auth-value\/versions/)
    await registry.close()
  })
})

describe('retries', () => {
  it('retries 5xx, 429 and 408 answers with backoff, then succeeds, over either transport', async () => {
    const answers: Record<number, object> = {
      503: { error_code: 50003, message: 'forwarding failed' },
      429: { error_code: 42901, message: 'too many requests' },
      408: { error_code: 40801, message: 'request timeout' },
    }
    let failing: number[] = []
    const { url, hits } = await serve((_req, res, pass) => {
      const status = failing.shift()
      return status === undefined ? pass() : json(res, status, answers[status])
    })
    const registry = await openConfluentRegistry({ url, retries: 3, ...fast, checkOnOpen: false })
    // A POST through the library (whose own retry would not retry a POST, nor a 429 or 408)...
    failing = [503, 429, 408]
    expect((await registry.register('retry-value', schema)).version).toBe(1)
    expect(hits.filter((h) => h === 'POST /subjects/retry-value/versions')).toHaveLength(4)
    // ...and a GET through fetch.
    failing = [408, 503]
    expect(await registry.listVersions('retry-value')).toEqual([1])
    expect(hits.filter((h) => h === 'GET /subjects/retry-value/versions')).toHaveLength(3)
    await registry.close()
  })

  it('gives up after `retries` with TRIB_REGISTRY_UNAVAILABLE (retriable), naming the URL', async () => {
    const { url, hits } = await serve((_req, res) => json(res, 500, { error_code: 50001, message: 'store error' }))
    const registry = await openConfluentRegistry({ url, retries: 3, ...fast, checkOnOpen: false })
    const e = await failure(registry.schemaById(1))
    expect(e.code).toBe('TRIB_REGISTRY_UNAVAILABLE')
    expect(e.retriable).toBe(true)
    expect(e.message).toContain(url)
    expect(e.message).toMatch(/failed 4 times .*store error/)
    expect(hits).toHaveLength(4)
    await registry.close()
  })

  it('retries dropped connections and refused ones', async () => {
    const { url, hits } = await serve((req) => req.socket.destroy())
    const dropped = await openConfluentRegistry({ url, retries: 2, ...fast, checkOnOpen: false })
    expect((await failure(dropped.listSubjects())).code).toBe('TRIB_REGISTRY_UNAVAILABLE')
    expect(hits).toHaveLength(3)
    await dropped.close()

    const closed = await serve((_req, res) => json(res, 200, {}))
    const port = closed.url
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve))
    const refused = await failure(openConfluentRegistry({ url: port, retries: 1, ...fast }))
    expect(refused.code).toBe('TRIB_REGISTRY_UNAVAILABLE')
    expect(refused.message).toContain(port)
    expect(refused.message).toMatch(/ECONNREFUSED/)
    // The same through the library (the check at open goes over fetch).
    const later = await openConfluentRegistry({ url: port, retries: 1, ...fast, checkOnOpen: false })
    const viaLibrary = await failure(later.listSubjects())
    expect(viaLibrary.code).toBe('TRIB_REGISTRY_UNAVAILABLE')
    expect(viaLibrary.retriable).toBe(true)
    expect(viaLibrary.message).toMatch(/failed 2 times .*GET \/subjects failed: .*ECONNREFUSED/)
    await later.close()
  })

  it('times out an attempt that gets no answer, or half of one', async () => {
    const { url, hits } = await serve((req, res) => {
      // Headers and the start of a body, then nothing: the timeout covers the whole answer.
      if (req.url === '/subjects') res.writeHead(200, { 'content-type': 'application/json' }).write('["half')
    })
    const registry = await openConfluentRegistry({ url, retries: 1, requestTimeoutMs: 150, ...fast, checkOnOpen: false })
    for (const [call, route] of [
      [() => registry.listSubjects(), 'GET /subjects'], // the library
      [() => registry.listVersions('slow-value'), 'GET /subjects/slow-value/versions'], // fetch
    ] as const) {
      const e = await failure(call())
      expect(e.code).toBe('TRIB_REGISTRY_UNAVAILABLE')
      expect(e.message).toMatch(/no answer within 150 ms/)
      expect(hits.filter((h) => h === route)).toHaveLength(2)
    }
    await registry.close()
  })

  it('does not retry a registry error', async () => {
    const { url, hits } = await serve((_req, _res, pass) => pass())
    const registry = await openConfluentRegistry({ url, retries: 5, ...fast })
    await registry.setCompatibility('BACKWARD', 'strict-value')
    await registry.register('strict-value', schema)
    const breaking = { ...schema, fields: [...schema.fields, { name: 'x', type: 'int' }] }
    const before = hits.length
    expect((await failure(registry.register('strict-value', breaking))).code).toBe('TRIB_REGISTRY_INCOMPATIBLE')
    expect(hits.length - before).toBe(1)
    await registry.close()
  })

  it('close() abandons a request waiting to retry', async () => {
    const { url } = await serve((_req, res) => json(res, 503, { error_code: 50003, message: 'busy' }))
    const registry = await openConfluentRegistry({ url, retries: 5, initialRetryDelayMs: 60_000, maxRetryDelayMs: 60_000, checkOnOpen: false })
    const pending = failure(registry.listSubjects())
    await new Promise((resolve) => setTimeout(resolve, 100))
    const started = Date.now()
    await registry.close()
    const e = await pending
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(e.code).toBe('TRIB_REGISTRY_UNAVAILABLE')
    expect(e.message).toMatch(/closed/)
    expect((await failure(registry.listSubjects())).message).toMatch(/closed/)
  })
})

describe('answers that are not the Confluent API', () => {
  it('reports a server that is not a registry as TRIB_REGISTRY_BAD_RESPONSE', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' })
      res.end('<html>Not Found</html>')
    })
    const registry = await openConfluentRegistry({ url, retries: 0 })
    const e = await failure(registry.getVersion('x-value', 'latest'))
    expect(e.code).toBe('TRIB_REGISTRY_BAD_RESPONSE')
    expect(e.message).toContain(url)
    expect(e.message).toMatch(/HTTP 404.*Not Found/)
    await registry.close()
  })

  it('refuses a 200 whose body is not what the API promises', async () => {
    const { url } = await serve((req, res) => (req.url === '/subjects' ? json(res, 200, { subjects: [] }) : res.end('plain text')))
    const registry = await openConfluentRegistry({ url, retries: 0, checkOnOpen: false })
    expect((await failure(registry.listSubjects())).message).toMatch(/expected a list of subjects/)
    expect((await failure(registry.schemaById(3))).code).toBe('TRIB_REGISTRY_BAD_RESPONSE')
    await registry.close()
  })
})

describe('requests', () => {
  it('works under a path prefix and encodes subject names', async () => {
    const { url, hits } = await serve((req, res, pass) => {
      if (!req.url?.startsWith('/registry/')) return json(res, 404, { error_code: 404, message: 'outside the prefix' })
      req.url = req.url.slice('/registry'.length)
      pass()
    })
    const registry = await openConfluentRegistry({ url: `${url}/registry/`, retries: 0 })
    const subject = 'odd/subject name:ctx-value'
    const { id } = await registry.register(subject, schema)
    expect(await registry.getVersion(subject, 1)).toMatchObject({ subject, id })
    expect(await registry.listSubjects()).toContain(subject)
    expect(hits).toContain('POST /registry/subjects/odd%2Fsubject%20name%3Actx-value/versions')
    await registry.close()
  })

  it('caches schemas by id: one request per id, and none after a registration', async () => {
    const { url, hits } = await serve((_req, _res, pass) => pass())
    const registry = await openConfluentRegistry({ url, retries: 0 })
    const other = { ...schema, name: 'contract.Cached' }
    const { id } = await embedded.register('cache-value', other)
    await Promise.all([registry.schemaById(id), registry.schemaById(id)])
    await registry.schemaById(id)
    expect(hits.filter((h) => h === `GET /schemas/ids/${id}`)).toHaveLength(1)
    const mine = await registry.register('cache2-value', { ...schema, name: 'contract.Mine' })
    await registry.schemaById(mine.id)
    expect(hits.filter((h) => h === `GET /schemas/ids/${mine.id}`)).toHaveLength(0)
    await registry.close()
  })
})

describe('transports', () => {
  it('sends the endpoints the library has through @kafkajs/confluent-schema-registry, the rest through fetch, with the same credentials', async () => {
    // What a registry's request log shows: the library's User-Agent names it (and its client id);
    // undici's fetch adds a Sec-Fetch-Mode header that node:http never sends.
    const seen = new Set<string>()
    const authorizations = new Set<string | undefined>()
    const { url } = await serve((req, _res, pass) => {
      const agent = req.headers['user-agent']
      const via =
        agent === '@kafkajs/confluent-schema-registry (tributary)' && req.headers['sec-fetch-mode'] === undefined
          ? 'library'
          : agent === 'tributary' && req.headers['sec-fetch-mode'] !== undefined
            ? 'fetch'
            : `other (${agent})`
      seen.add(`${req.method} ${req.url} ${via}`)
      authorizations.add(req.headers.authorization)
      pass()
    })
    const registry = await openConfluentRegistry({ url, username: 'wire', password: 'pa:ss', retries: 0 })
    const subject = 'wire/x-value'
    const s = encodeURIComponent(subject)
    const v2 = { ...schema, fields: [...schema.fields, { name: 'note', type: ['null', 'string'], default: null }] }
    const other = await embedded.register('wire-other-value', { ...schema, name: 'contract.WireOther' })

    await registry.register(subject, schema)
    await registry.schemaById(other.id)
    await registry.getVersion(subject, 1)
    await registry.getVersion(subject, 'latest')
    await registry.lookup(subject, v2)
    await registry.listSubjects()
    await registry.listVersions(subject)
    await registry.checkCompatibility(subject, v2, 'latest')
    await registry.checkCompatibility(subject, v2)
    await registry.setCompatibility('BACKWARD', subject)
    await registry.getCompatibility(subject)
    await registry.setCompatibility(await registry.getCompatibility())
    await registry.register(subject, v2)
    await registry.deleteVersion(subject, 2)
    await registry.deleteSubject(subject)
    await registry.close()

    expect([...seen].sort()).toEqual(
      [
        'GET / fetch', // the check at open
        `POST /subjects/${s}/versions library`,
        `GET /schemas/ids/${other.id} library`,
        `GET /subjects/${s}/versions/1 library`,
        `GET /subjects/${s}/versions/latest library`,
        `POST /subjects/${s} library`,
        'GET /subjects library',
        `GET /subjects/${s}/versions fetch`,
        `POST /compatibility/subjects/${s}/versions/latest?verbose=true library`,
        `POST /compatibility/subjects/${s}/versions?verbose=true fetch`,
        `PUT /config/${s} library`,
        `GET /config/${s}?defaultToGlobal=true library`,
        'GET /config fetch',
        'PUT /config fetch',
        `DELETE /subjects/${s}/versions/2 fetch`,
        `DELETE /subjects/${s} fetch`,
      ].sort(),
    )
    expect([...authorizations]).toEqual([`Basic ${Buffer.from('wire:pa:ss').toString('base64')}`])
  })
})

describe('health (readiness)', () => {
  const until = async (what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  it('is reachable while the registry answers, unreachable naming it after two failed checks (down, 5xx, refused credentials), and reachable again once it answers', async () => {
    let mode: 'up' | 'down' | '503' | '401' = 'up'
    const { url, hits } = await serve((req, res, pass) => {
      if (mode === 'down') return req.socket.destroy()
      if (mode === '503') return json(res, 503, { error_code: 50003, message: 'forwarding failed' })
      if (mode === '401') return json(res, 401, { error_code: 401, message: 'Unauthorized' })
      pass()
    })
    const registry = await openConfluentRegistry({ url, retries: 0, healthIntervalMs: 50, healthTimeoutMs: 1_000 })
    expect(registry.health!()).toEqual({ reachable: true })
    await until('a few checks', () => hits.filter((h) => h === 'GET /').length >= 4)
    expect(registry.health!()).toEqual({ reachable: true })
    for (const fault of ['down', '503', '401'] as const) {
      mode = fault
      await until(`unreachable (${fault})`, () => !registry.health!().reachable)
      const h = registry.health!()
      if (h.reachable) throw new Error('reachable')
      expect(h.message, fault).toMatch(new RegExp(`^schema registry ${url.replace(/[.]/g, '\\.')} unreachable for \\d+ ms \\(\\d+ checks failed; last: .+\\)$`))
      expect(h.since).toBeLessThanOrEqual(Date.now())
      mode = 'up'
      await until(`reachable after ${fault}`, () => registry.health!().reachable)
    }
    await registry.close()
    // Closed: the watch stops asking.
    const asked = hits.length
    await new Promise((r) => setTimeout(r, 200))
    expect(hits.length).toBe(asked)
  })
})
