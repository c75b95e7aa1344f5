import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { SchemaRegistry as ConfluentClient, SchemaType } from '@kafkajs/confluent-schema-registry'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedRegistry, openEmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'
import { registryWriter, serveWritableRegistry } from '../helpers/access.ts'
import { createSerde } from '../../runtime/codec/avro/serde.ts'

// The embedded registry's Confluent REST API over a real socket, driven by a third-party client
// (@kafkajs/confluent-schema-registry) and by plain fetch for the error contract.

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
const user = {
  type: 'record',
  name: 'User',
  namespace: 'com.example',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
  ],
}
const userV2 = { ...user, fields: [...user.fields, { name: 'email', type: ['null', 'string'], default: null }] }
const breaking = { ...user, fields: [...user.fields, { name: 'age', type: 'int' }] }

let dir: string
let registry: EmbeddedRegistry
let server: { url: string; close(): Promise<void> }
let client: ConfluentClient

async function call(method: string, route: string, body?: unknown): Promise<{ status: number; type: string | null; json: any }> {
  const res = await fetch(server.url + route, {
    method,
    headers: { 'content-type': CONTENT_TYPE, authorization: `Basic ${Buffer.from(`${registryWriter.username}:${registryWriter.password}`).toString('base64')}` },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  return { status: res.status, type: res.headers.get('content-type'), json: await res.json() }
}
const schemaBody = (schema: object) => ({ schema: JSON.stringify(schema) })

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-registry-rest-'))
  registry = await openEmbeddedRegistry({ dir })
  server = await serveWritableRegistry(registry)
  client = new ConfluentClient({ host: server.url, auth: registryWriter }, { forSchemaOptions: {} })
})
afterAll(async () => {
  await server.close()
  await registry.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('with @kafkajs/confluent-schema-registry', () => {
  it('registers, finds ids, encodes and decodes', async () => {
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(user) }, { subject: 'users-value' })
    expect(id).toBe((await registry.getVersion('users-value', 'latest')).id)
    expect(await client.getLatestSchemaId('users-value')).toBe(id)
    expect(await client.getRegistryId('users-value', 1)).toBe(id)
    expect(await client.getRegistryIdBySchema('users-value', { type: SchemaType.AVRO, schema: JSON.stringify(user) })).toBe(id)
    // The client set the subject's level on first registration, as it does against Confluent.
    expect(await registry.subjectCompatibility('users-value')).toBe('BACKWARD')

    const encoded = await client.encode(id, { id: 7, name: 'Ada' })
    expect(encoded[0]).toBe(0)
    expect(encoded.readInt32BE(1)).toBe(id)
    expect(await client.decode(encoded)).toEqual({ id: 7, name: 'Ada' })
  })

  it('interoperates with the serde both ways', async () => {
    const serde = createSerde(registry)
    const encode = await serde.encoder('users-value', userV2)
    const bytes = encode({ id: 8, name: 'Grace', email: 'g@h.i' })
    // A fresh client, so it fetches the writer schema by id over HTTP.
    const fresh = new ConfluentClient({ host: server.url, auth: registryWriter })
    expect(await fresh.decode(bytes)).toEqual({ id: 8, name: 'Grace', email: 'g@h.i' })
    const theirs = await fresh.encode(await fresh.getLatestSchemaId('users-value'), { id: 9, name: 'Lin', email: null })
    await serde.prefetch([theirs.readInt32BE(1)])
    expect(serde.decode(theirs).value).toEqual({ id: 9, name: 'Lin', email: null })
  })

  it('surfaces an incompatible registration as an error', async () => {
    await expect(client.register({ type: SchemaType.AVRO, schema: JSON.stringify(breaking) }, { subject: 'users-value' })).rejects.toThrow(/incompatible/)
  })
})

describe('REST contract', () => {
  it('answers in the Confluent content type', async () => {
    const r = await call('GET', '/subjects')
    expect(r.status).toBe(200)
    expect(r.type).toBe(CONTENT_TYPE)
    expect(r.json).toContain('users-value')
    expect((await call('GET', '/schemas/types')).json).toEqual(['AVRO'])
  })

  it('serves versions, schemas by id and the raw schema', async () => {
    expect((await call('GET', '/subjects/users-value/versions')).json).toEqual([1, 2])
    const latest = (await call('GET', '/subjects/users-value/versions/latest')).json
    expect(latest).toMatchObject({ subject: 'users-value', version: 2 })
    expect(JSON.parse(latest.schema)).toEqual(JSON.parse(await registry.schemaById(latest.id)))
    expect((await call('GET', `/schemas/ids/${latest.id}`)).json).toEqual({ schema: latest.schema })
    expect((await call('GET', `/schemas/ids/${latest.id}/schema`)).json).toEqual(JSON.parse(latest.schema))
    expect((await call('GET', '/subjects/users-value/versions/1/schema')).json).toMatchObject({ name: 'com.example.User' })
    expect((await call('GET', `/schemas/ids/${latest.id}/versions`)).json).toEqual([{ subject: 'users-value', version: 2 }])
  })

  it('registers and looks up', async () => {
    const r = await call('POST', '/subjects/other-value/versions', schemaBody({ type: 'string' }))
    expect(r.status).toBe(200)
    expect(Object.keys(r.json)).toEqual(['id'])
    const found = await call('POST', '/subjects/other-value', schemaBody({ type: 'string' }))
    expect(found.json).toMatchObject({ subject: 'other-value', version: 1, id: r.json.id })
    expect((await call('POST', '/subjects/other-value', schemaBody({ type: 'int' }))).json.error_code).toBe(40403)
    expect((await call('POST', '/subjects/nobody', schemaBody({ type: 'int' }))).json.error_code).toBe(40401)
  })

  it('checks compatibility, verbosely on request', async () => {
    expect((await call('POST', '/compatibility/subjects/users-value/versions/latest', schemaBody(userV2))).json).toEqual({ is_compatible: true })
    const verbose = await call('POST', '/compatibility/subjects/users-value/versions/latest?verbose=true', schemaBody(breaking))
    expect(verbose.json.is_compatible).toBe(false)
    expect(verbose.json.messages.join()).toMatch(/age/)
    expect((await call('POST', '/compatibility/subjects/users-value/versions', schemaBody(breaking))).json).toEqual({ is_compatible: false })
    expect((await call('POST', '/compatibility/subjects/new-subject/versions/latest', schemaBody(breaking))).json).toEqual({ is_compatible: true })
  })

  it('reads and writes levels', async () => {
    expect((await call('GET', '/config')).json).toEqual({ compatibilityLevel: 'BACKWARD' })
    expect((await call('PUT', '/config/other-value', { compatibility: 'FULL' })).json).toEqual({ compatibility: 'FULL' })
    expect((await call('GET', '/config/other-value')).json).toEqual({ compatibilityLevel: 'FULL' })
    expect((await call('DELETE', '/config/other-value')).json).toEqual({ compatibilityLevel: 'FULL' })
    const unset = await call('GET', '/config/other-value')
    expect([unset.status, unset.json.error_code]).toEqual([404, 40408])
    expect((await call('GET', '/config/other-value?defaultToGlobal=true')).json).toEqual({ compatibilityLevel: 'BACKWARD' })
    const bad = await call('PUT', '/config', { compatibility: 'SIDEWAYS' })
    expect([bad.status, bad.json.error_code]).toEqual([422, 42203])
  })

  it('maps errors to Confluent codes and statuses', async () => {
    const cases: Array<[string, string, unknown, number, number]> = [
      ['GET', '/subjects/nobody/versions', undefined, 404, 40401],
      ['GET', '/subjects/users-value/versions/99', undefined, 404, 40402],
      ['GET', '/schemas/ids/9999', undefined, 404, 40403],
      ['POST', '/subjects/users-value/versions', schemaBody(breaking), 409, 409],
      ['POST', '/subjects/users-value/versions', { schema: '{"type":"record"}' }, 422, 42201],
      ['POST', '/subjects/users-value/versions', { schema: '"string"', schemaType: 'PROTOBUF' }, 422, 42201],
      ['GET', '/subjects/users-value/versions/zero', undefined, 422, 42202],
      ['POST', '/subjects/users-value/versions', '{oops', 400, 400],
      ['GET', '/nowhere', undefined, 404, 404],
      ['PATCH', '/subjects', undefined, 405, 405],
    ]
    for (const [method, route, body, status, code] of cases) {
      const r = await call(method, route, body)
      expect({ route, status: r.status, code: r.json.error_code }).toEqual({ route, status, code })
      expect(typeof r.json.message).toBe('string')
    }
  })

  it('deletes softly, then permanently', async () => {
    await call('POST', '/subjects/gone-value/versions', schemaBody({ type: 'string' }))
    const { id } = (await call('GET', '/subjects/gone-value/versions/1')).json
    expect((await call('DELETE', '/subjects/gone-value?permanent=true')).json.error_code).toBe(40405)
    expect((await call('DELETE', '/subjects/gone-value/versions/latest')).json).toBe(1)
    expect((await call('GET', '/subjects/gone-value/versions')).json.error_code).toBe(40401)
    expect((await call('DELETE', '/subjects/gone-value')).json.error_code).toBe(40404)
    expect((await call('DELETE', '/subjects/gone-value?permanent=true')).json).toEqual([1])
    expect((await call('DELETE', '/subjects/gone-value')).json.error_code).toBe(40401)
    // The id still resolves, since data written with it may exist.
    expect((await call('GET', `/schemas/ids/${id}`)).status).toBe(200)
  })
})
