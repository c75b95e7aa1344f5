import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'
import { serveWritableRegistry } from '../helpers/access.ts'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import { createSerde } from '../../runtime/codec/avro/serde.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import { exampleMesh, readTopic, repoRoot, tempRuntime } from '../helpers/runtime.ts'
import { interopRecords, interopSchema, pythonView, registryClient } from './registry-python.ts'

/**
 * Confluent's own Python client against Tributary's registry REST API: the SchemaRegistryClient
 * API, AvroDeserializer on what our serde and the example products wrote, and AvroSerializer's
 * bytes read by our serde.
 */

describe('Python confluent-kafka against the embedded registry REST API', () => {
  let runtime: Runtime
  let cleanup: () => Promise<void>
  let server: { url: string; authUrl: string; close(): Promise<void> }

  beforeAll(async () => {
    ;({ runtime, cleanup } = await tempRuntime())
    server = await serveWritableRegistry(runtime.registry as EmbeddedRegistry)
  })
  afterAll(async () => {
    await server.close()
    await cleanup()
  })

  it('SchemaRegistryClient registers, looks up, checks compatibility, reads levels and deletes', async () => {
    const v1 = { type: 'record', name: 'Account', namespace: 'py', fields: [{ name: 'id', type: 'long' }] }
    const compatible = { ...v1, fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }] }
    const incompatible = { ...v1, fields: [...v1.fields, { name: 'note', type: 'string' }] }
    const subject = 'py-accounts-value'
    const r = await registryClient<Record<string, any>>('client', {
      url: server.authUrl,
      subject,
      schema: JSON.stringify(v1),
      compatible: JSON.stringify(compatible),
      incompatible: JSON.stringify(incompatible),
    })
    const ours = await runtime.registry.getVersion(subject, 1).catch(() => undefined)
    expect(ours).toBeUndefined() // Python deleted the subject permanently at the end
    expect(r.id_again).toBe(r.id)
    expect(r.schema_by_id).toEqual({ type: 'record', name: 'py.Account', fields: [{ name: 'id', type: 'long' }] })
    expect(r.lookup).toEqual({ id: r.id, subject, version: 1 })
    expect([r.compatible, r.incompatible]).toEqual([true, false])
    expect(r.register_incompatible).toEqual({ status: 409, error_code: 409 })
    expect(r.id_v2).not.toBe(r.id)
    expect(r.latest).toMatchObject({ id: r.id_v2, version: 2 })
    expect(r.latest.schema.fields.map((f: { name: string }) => f.name)).toEqual(['id', 'note'])
    expect(r.version_1).toBe(r.id)
    expect(r.versions).toEqual([1, 2])
    expect(r.subjects).toContain(subject)
    expect([r.global_level, r.subject_level]).toEqual(['BACKWARD', 'FULL'])
    expect(r.unknown_subject).toEqual({ status: 404, error_code: 40401 })
    expect(r.unknown_id).toEqual({ status: 404, error_code: 40403 })
    expect([r.deleted_version, r.versions_after_delete, r.deleted_subject, r.deleted_permanently]).toEqual([2, [1], [1], [1, 2]])
    // The ids live on after the permanent delete, as data written with them may exist.
    expect(JSON.parse(await runtime.registry.schemaById(r.id_v2)).name).toBe('py.Account')
  })

  it('AvroDeserializer reads what our serde wrote, every logical type as the Python type it stands for', async () => {
    const topic = 'py-interop'
    const encode = await createSerde(runtime.registry).encoder(`${topic}-value`, interopSchema)
    const values = interopRecords.map((r) => encode(r).toString('base64'))
    const decoded = await registryClient<unknown[]>('deserialize', { url: server.url, topic, values: [...values, null] })
    expect(decoded).toEqual([...interopRecords.map((r) => pythonView(interopSchema, r)), null])
    // Spot checks written out, so that the view function is not the only judge.
    expect(decoded[0]).toMatchObject({
      amount: { $decimal: '12.50' },
      day: { $date: '2026-11-01' },
      at: { $datetime: '2026-11-01T08:00:00.123000+00:00' },
      micros: { $datetime: '2026-11-01T08:00:00.123456+00:00' },
      clock: { $time: '08:30:15.250000' },
      uid: { $uuid: '0b6f5c52-2f1e-4a8e-9a53-3f2b7d9a1c01' },
      blob: { $bytes: 'AAEC/w==' },
      counts: { x: 1, y: 4_000_000_000_000_000 },
    })
    expect(decoded[1]).toMatchObject({ amount: { $decimal: '-0.01' }, at: { $datetime: '1970-01-01T00:00:00+00:00' }, email: null })
  })

  it("AvroSerializer's bytes decode with our serde to the same canonical values", async () => {
    const topic = 'py-written'
    const records = interopRecords.map((r) => pythonView(interopSchema, r))
    const written = await registryClient<string[]>('serialize', { url: server.authUrl, topic, schema: JSON.stringify(interopSchema), records })
    const serde = createSerde(runtime.registry)
    const bytes = written.map((b) => Buffer.from(b, 'base64'))
    const id = (await runtime.registry.getVersion(`${topic}-value`, 'latest')).id
    expect(bytes.map((b) => [b[0], b.readInt32BE(1)])).toEqual(bytes.map(() => [0, id]))
    await serde.prefetch([id])
    expect(bytes.map((b) => serde.decode(b).value)).toEqual(interopRecords)
  })

  it("AvroDeserializer reads the example products' output topics as our runtime decodes them", async () => {
    const { log, registry } = runtime
    const serde = runtime.codec.serde
    for (const t of [usersTopic, playsTopic]) await log.ensureTopic(t, { partitions: 3 })
    const sample = await generateSampleData(registry, { users: 40, plays: 200, seed: 3 })
    await log.append(sample.records)
    await runProducts(await createRunnables(runtime, exampleMesh()), { untilIdle: true })

    const outputs: Array<[string, string]> = [
      ['user-profiles.profiles', 'users.user-profile.avsc'],
      ['podcast-listeners.demographics', 'podcast.listener-demographic.avsc'],
      ['top-podcasts.daily-plays', 'podcast.daily-podcast-plays.avsc'],
    ]
    for (const [topic, file] of outputs) {
      const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'schemas', file), 'utf8'))
      const values = (await readTopic(log, topic)).map((r) => r.value).filter((v): v is Buffer => v !== null)
      expect(values.length, topic).toBeGreaterThan(10)
      await serde.prefetch(values.map((v) => v.readInt32BE(1)))
      const ours = values.map((v) => pythonView(schema, serde.decode(v).value))
      const theirs = await registryClient<unknown[]>('deserialize', { url: server.url, topic, values: values.map((v) => v.toString('base64')) })
      expect(theirs, topic).toEqual(ours)
    }
  })
})
