import http from 'node:http'
import type { AddressInfo } from 'node:net'
import fs from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openStorageProvider } from '../../../connectors/storage/index.ts'
import { openRestCatalogConnection } from '../../../connectors/catalog/rest/index.ts'
import { tableId } from '../../../runtime/lake/catalog/identifier.ts'
import { applyCommit } from '../../../runtime/lake/iceberg/commit.ts'
import { createCommit, tableRequest } from '../../../runtime/lake/iceberg/create.ts'
import { lakeResources, type LakeResources } from '../../../runtime/lake/resources.ts'
import { tempDir } from '../../helpers/runtime.ts'

/**
 * The REST client's decisions that a real catalog cannot be made to take on demand: what a lost
 * answer or a server error to a commit means, the pins a commit carries, retries of reads, token
 * renewal, the configured prefix, and exact int64. A scripted HTTP server stands in for the catalog
 * (the contract suite runs the client against real ones).
 */
type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void
const json = (res: http.ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body))

describe('the REST catalog client', () => {
  let server: http.Server
  let uri: string
  let handler: Handler
  let requests: Array<{ method: string; url: string; body: string; auth: string | undefined }>
  let lake: LakeResources
  const dir = tempDir('trib-rest-client-')
  const location = `file://${dir}/ns/t`
  const metadata = applyCommit(undefined, createCommit(tableRequest({ avroSchema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] } }), location, '9b0e3c2e-8a6f-4e0f-9d7e-2a6b7c1d0e11'), { nowMs: 1_700_000_000_000 })
  const loadResult = (md: unknown = metadata) => ({ 'metadata-location': `${location}/metadata/00001.metadata.json`, metadata: md, config: {} })
  /** Answers config and loads; everything else goes to `handler`. */
  const catalog = (extra: Handler): Handler => (req, body, res) => {
    if (req.url!.startsWith('/v1/config')) return json(res, 200, { defaults: {}, overrides: { prefix: 'wh1' }, endpoints: ['GET /v1/{prefix}/namespaces/{namespace}/tables/{table}', 'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}'] })
    if (req.method === 'GET' && req.url === '/v1/wh1/namespaces/ns/tables/t') return json(res, 200, loadResult())
    extra(req, body, res)
  }

  beforeAll(async () => {
    lake = lakeResources({ storage: openStorageProvider(), cacheDir: tempDir('trib-rest-client-cache-') })
    server = http.createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        requests.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization })
        handler(req, body, res)
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterEach(() => {
    requests = []
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
    await lake.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  requests = []
  const open = (extra: Handler, options: { credential?: string; token?: string } = {}) => {
    handler = catalog(extra)
    return openRestCatalogConnection({ uri, retries: 2, timeoutMs: 2000, ...options }, lake)
  }
  const posts = () => requests.filter((r) => r.method === 'POST' && r.url === '/v1/wh1/namespaces/ns/tables/t')

  it('uses the prefix the configuration gives, and pins every commit to its base', async () => {
    const c = await open((_req, body, res) => json(res, 200, { 'metadata-location': `${location}/metadata/00002.metadata.json`, metadata: { ...metadata, properties: { ...metadata.properties, ...JSON.parse(body).updates[0].updates } } }))
    const table = await c.loadTable(tableId('ns', 't'))
    await table.commit({ requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }], updates: [{ action: 'set-properties', updates: { a: '1' } }] })
    expect(table.metadata.properties.a).toBe('1')
    expect(table.metadataFile).toBe(`${location}/metadata/00002.metadata.json`)
    const sent = JSON.parse(posts()[0]!.body)
    expect(sent.identifier).toEqual({ namespace: ['ns'], name: 't' })
    expect(sent.requirements).toEqual([
      { type: 'assert-current-schema-id', 'current-schema-id': 0 },
      { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
      { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': metadata['last-column-id'] },
      { type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': metadata['last-partition-id'] },
      { type: 'assert-default-spec-id', 'default-spec-id': metadata['default-spec-id'] },
      { type: 'assert-default-sort-order-id', 'default-sort-order-id': metadata['default-sort-order-id'] },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null },
    ])
  })

  it('refuses a commit whose own requirement fails on its base without sending it', async () => {
    const c = await open((_q, _b, res) => json(res, 500, {}))
    const table = await c.loadTable(tableId('ns', 't'))
    await expect(table.commit({ requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 42 }], updates: [] })).rejects.toMatchObject({ code: 'TRIB_LAKE_COMMIT_CONFLICT' })
    expect(posts()).toHaveLength(0)
  })

  it('takes 409 for a stale base: reloads, prepares again and retries', async () => {
    let n = 0
    const c = await open((_req, _b, res) => (++n === 1 ? json(res, 409, { error: { message: 'Requirement failed: ref main changed', type: 'CommitFailedException', code: 409 } }) : json(res, 200, loadResult())))
    const table = await c.loadTable(tableId('ns', 't'))
    let prepared = 0
    await table.commit(() => (prepared++, { requirements: [], updates: [{ action: 'set-properties', updates: { a: '1' } }] }))
    expect(prepared).toBe(2)
    expect(posts()).toHaveLength(2)
  })

  for (const status of [500, 502, 503, 504]) {
    it(`takes ${status} to a commit for an unknown state, and never sends it again`, async () => {
      const c = await open((_q, _b, res) => json(res, status, { error: { message: 'boom', type: 'CommitStateUnknownException', code: status } }))
      const table = await c.loadTable(tableId('ns', 't'))
      await expect(table.setProperties({ a: '1' })).rejects.toMatchObject({ code: 'TRIB_LAKE_COMMIT_STATE_UNKNOWN' })
      expect(posts()).toHaveLength(1)
    })
  }

  it('takes a commit that got no answer for an unknown state, and never sends it again', async () => {
    const c = await open((req) => req.socket.destroy())
    const table = await c.loadTable(tableId('ns', 't'))
    await expect(table.setProperties({ a: '1' })).rejects.toMatchObject({ code: 'TRIB_LAKE_COMMIT_STATE_UNKNOWN' })
    expect(posts()).toHaveLength(1)
  })

  it('retries reads on 503, up to its retries, then says the catalog is unavailable', async () => {
    let n = 0
    const c = await open((_q, _b, res) => (++n <= 2 ? json(res, 503, { error: { message: 'slow down', type: 'SlowDownException', code: 503 } }) : json(res, 200, { identifiers: [{ namespace: ['ns'], name: 'b' }, { namespace: ['ns'], name: 'a' }] })))
    expect(await c.listTables(['ns'])).toEqual([tableId('ns', 'a'), tableId('ns', 'b')])
    expect(requests.filter((r) => r.url === '/v1/wh1/namespaces/ns/tables')).toHaveLength(3)
    const down = await open((_q, _b, res) => json(res, 503, {}))
    await expect(down.listTables(['ns'])).rejects.toMatchObject({ code: 'TRIB_LAKE_CATALOG_UNAVAILABLE' })
  })

  it('lists an unknown namespace as empty, and answers whether a table exists with a load when HEAD is not offered', async () => {
    const c = await open((_q, _b, res) => json(res, 404, { error: { message: 'no', type: 'NoSuchNamespaceException', code: 404 } }))
    expect(await c.listTables(['other'])).toEqual([])
    expect(await c.tableExists(tableId('ns', 't'))).toBe(true)
    expect(await c.tableExists(tableId('other', 't'))).toBe(false)
    expect(requests.some((r) => r.method === 'HEAD')).toBe(false)
  })

  it('exchanges client credentials for a token, sends it, and fetches a new one after a 401', async () => {
    let issued = 0
    const oauth: Handler = (req, body, res) => {
      if (req.url === '/v1/oauth/tokens') {
        const form = new URLSearchParams(body)
        if (form.get('client_id') !== 'me' || form.get('client_secret') !== 'pw' || form.get('grant_type') !== 'client_credentials') return json(res, 401, { error: 'invalid_client' })
        return json(res, 200, { access_token: `token-${++issued}`, token_type: 'bearer', expires_in: 3600 })
      }
      if (req.headers.authorization !== 'Bearer token-2') return json(res, 401, { error: { message: 'expired', type: 'NotAuthorizedException', code: 401 } })
      json(res, 200, { namespaces: [['ns']] })
    }
    const c = await open(oauth, { credential: 'me:pw' })
    expect(await c.listNamespaces()).toEqual([['ns']])
    expect(issued).toBe(2)
    expect(requests.find((r) => r.url === '/v1/config')?.auth).toBe('Bearer token-1')
    await expect(open(oauth, { credential: 'me:wrong' })).rejects.toMatchObject({ code: 'TRIB_LAKE_CATALOG_UNAUTHORIZED', message: expect.not.stringContaining('wrong') })
  })

  it('reads int64 metadata exactly: a snapshot id beyond 2^53 is refused by name, never rounded', async () => {
    const snapshot = '{"snapshot-id":9007199254740993,"sequence-number":1,"timestamp-ms":1700000000000,"manifest-list":"x","summary":{"operation":"append"}}'
    const text = JSON.stringify(loadResult({ ...metadata, snapshots: ['SNAPSHOT'] })).replace('"SNAPSHOT"', snapshot)
    const c = await open(() => undefined)
    handler = (req, body, res) => (req.url === '/v1/wh1/namespaces/ns/tables/big' ? json(res, 200, text) : catalog(() => undefined)(req, body, res))
    const got = await c.loadTable(tableId('ns', 'big')).then((t) => t.metadata.snapshots[0]!['snapshot-id'] as unknown, (e: unknown) => e)
    if (got instanceof Error) expect(got).toMatchObject({ code: 'TRIB_LAKE_CORRUPT', message: expect.stringContaining('9007199254740993') })
    else expect(got).toBe(9007199254740993n)
  })
})
