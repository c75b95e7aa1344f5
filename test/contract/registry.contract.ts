import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ErrorCode, isTributaryError } from '../../runtime/errors.ts'
import { canonicalSchema } from '../../runtime/registry/canonical.ts'
import type { SchemaRegistry } from '../../runtime/registry/registry.ts'
import { createSerde } from '../../runtime/codec/avro/serde.ts'
import { unique } from '../helpers/runtime.ts'

/**
 * The contract every SchemaRegistry adapter must honour: Confluent's semantics as seen through the
 * interface. `open` gives a registry whose global level is Confluent's default (BACKWARD). Every
 * test uses its own subjects (and record names, so that ids are new), asserts relations between
 * ids rather than their values, and restores the global level it changes, so that the suite can
 * also run against a long-lived registry.
 */
export function registryContract(name: string, open: () => Promise<{ registry: SchemaRegistry; cleanup: () => Promise<void> }>): void {
  describe(`SchemaRegistry contract: ${name}`, () => {
    let registry: SchemaRegistry
    let cleanup: () => Promise<void>

    beforeAll(async () => {
      ;({ registry, cleanup } = await open())
    })
    afterAll(async () => {
      await cleanup()
    })

    /** A record schema of its own (a fresh full name), with extra fields after `id`. */
    const recordOf = (recordName: string, fields: object[] = []) => ({
      type: 'record',
      name: recordName,
      namespace: 'contract',
      fields: [{ name: 'id', type: 'long' }, ...fields],
    })
    const optionalEmail = { name: 'email', type: ['null', 'string'], default: null }
    const requiredEmail = { name: 'email', type: 'string' }
    const fresh = () => {
      const n = unique('R').replace('-', '_')
      return { n, v1: recordOf(n), v2: recordOf(n, [optionalEmail]), breaking: recordOf(n, [requiredEmail]) }
    }

    async function codeOf(p: Promise<unknown>): Promise<ErrorCode> {
      try {
        await p
      } catch (e) {
        if (isTributaryError(e)) return e.code
        throw e
      }
      throw new Error('expected the call to fail')
    }

    it('registers idempotently, whatever the spelling, and serves the schema back', async () => {
      const subject = unique('idem-value')
      const { n, v1 } = fresh()
      const first = await registry.register(subject, v1)
      expect(first.version).toBe(1)
      expect(first.id).toBeGreaterThan(0)
      // Same schema: other key order, whitespace, a full name instead of name + namespace.
      const respelled = `{ "fields": [ {"type": "long", "name": "id"} ],\n "name": "contract.${n}", "type": "record" }`
      expect(await registry.register(subject, respelled)).toEqual(first)
      expect(await registry.register(subject, JSON.stringify(v1))).toEqual(first)
      expect(await registry.listVersions(subject)).toEqual([1])
      expect(canonicalSchema(await registry.schemaById(first.id))).toBe(canonicalSchema(v1))
      const got = await registry.getVersion(subject, 1)
      expect(got).toMatchObject({ subject, version: 1, id: first.id })
      expect(canonicalSchema(got.schema)).toBe(canonicalSchema(v1))
      expect(await registry.listSubjects()).toContain(subject)
    })

    it('registers the same new schema concurrently as one version', async () => {
      const subject = unique('race-value')
      const { v1 } = fresh()
      const results = await Promise.all(Array.from({ length: 6 }, () => registry.register(subject, v1)))
      expect(new Set(results.map((r) => `${r.id}/${r.version}`)).size).toBe(1)
      expect(await registry.listVersions(subject)).toEqual([1])
    })

    it('shares an id across subjects for the same schema, and gives new schemas new ids', async () => {
      const [a, b] = [unique('share-a-value'), unique('share-b-value')]
      const { v1, v2 } = fresh()
      const inA = await registry.register(a, v1)
      const inB = await registry.register(b, v1)
      expect(inB).toEqual({ id: inA.id, version: 1 })
      const next = await registry.register(a, v2)
      expect(next.version).toBe(2)
      expect(next.id).not.toBe(inA.id)
      expect((await registry.getVersion(a, 'latest')).id).toBe(next.id)
    })

    it('numbers versions and finds them by number, latest and schema', async () => {
      const subject = unique('versions-value')
      const { v1, v2, breaking } = fresh()
      const one = await registry.register(subject, v1)
      const two = await registry.register(subject, v2)
      expect(await registry.listVersions(subject)).toEqual([1, 2])
      expect(await registry.getVersion(subject, 'latest')).toMatchObject({ version: 2, id: two.id })
      expect(await registry.getVersion(subject, 1)).toMatchObject({ version: 1, id: one.id })
      expect(await registry.lookup(subject, v1)).toMatchObject({ subject, version: 1, id: one.id })
      expect(await registry.lookup(subject, JSON.stringify(v2))).toMatchObject({ version: 2, id: two.id })
      expect(await registry.lookup(subject, breaking)).toBeUndefined()
      expect(await registry.lookup(unique('nobody-value'), v1)).toBeUndefined()
    })

    it('keeps what readers depend on: logical types, defaults, docs and custom attributes', async () => {
      const subject = unique('attrs-value')
      const schema = {
        type: 'record',
        name: unique('Attrs').replace('-', '_'),
        namespace: 'contract',
        doc: 'kept',
        fields: [
          { name: 'id', type: 'long', doc: 'the key' },
          { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2, 'connect.name': 'org.apache.kafka.connect.data.Decimal' } },
          { name: 'day', type: { type: 'int', logicalType: 'date' } },
          { name: 'plan', type: { type: 'enum', name: 'Plan', symbols: ['free', 'paid'], default: 'free' }, default: 'free' },
        ],
      }
      const { id } = await registry.register(subject, schema)
      const back = JSON.parse(await registry.schemaById(id)) as { doc: string; fields: Array<{ doc?: string; type: Record<string, unknown>; default?: unknown }> }
      expect(back.doc).toBe('kept')
      expect(back.fields[0]!.doc).toBe('the key')
      expect(back.fields[1]!.type).toMatchObject({ logicalType: 'decimal', precision: 10, scale: 2, 'connect.name': 'org.apache.kafka.connect.data.Decimal' })
      expect(back.fields[2]!.type).toMatchObject({ logicalType: 'date' })
      expect(back.fields[3]!.default).toBe('free')

      // The serde frames with the registered id and decodes through a fresh serde (by id).
      const encode = await createSerde(registry).encoder(subject, schema)
      const bytes = encode({ id: 7, amount: '12.50', day: '2026-11-01', plan: 'paid' })
      expect(bytes.readInt32BE(1)).toBe(id)
      const reader = createSerde(registry)
      await reader.prefetch([id])
      expect(reader.decode(bytes).value).toEqual({ id: 7, amount: '12.50', day: '2026-11-01', plan: 'paid' })
    })

    it('refuses an incompatible schema under the default BACKWARD level, and accepts it under NONE', async () => {
      const subject = unique('compat-value')
      const { v1, breaking } = fresh()
      await registry.register(subject, v1)
      expect(await registry.getCompatibility()).toBe('BACKWARD')
      expect(await registry.getCompatibility(subject)).toBe('BACKWARD')
      const refused = await registry.register(subject, breaking).catch((e: unknown) => e)
      expect(isTributaryError(refused, 'TRIB_REGISTRY_INCOMPATIBLE')).toBe(true)
      expect((refused as Error).message).toContain(subject)
      expect(await registry.listVersions(subject)).toEqual([1])
      await registry.setCompatibility('NONE', subject)
      expect(await registry.getCompatibility(subject)).toBe('NONE')
      expect((await registry.register(subject, breaking)).version).toBe(2)
    })

    it('checks compatibility against the latest, a given version, or what the level requires', async () => {
      const subject = unique('check-value')
      const { v1, v2, breaking } = fresh()
      await registry.setCompatibility('NONE', subject)
      await registry.register(subject, v1)
      await registry.register(subject, breaking) // v2 has a required email
      await registry.setCompatibility('BACKWARD', subject)
      const v3 = { ...breaking, fields: [...breaking.fields, { name: 'n', type: 'int', default: 0 }] }
      expect(await registry.checkCompatibility(subject, v3)).toEqual({ compatible: true, messages: [] })
      expect((await registry.checkCompatibility(subject, v3, 'latest')).compatible).toBe(true)
      const againstOne = await registry.checkCompatibility(subject, v3, 1)
      expect(againstOne.compatible).toBe(false)
      expect(againstOne.messages.join(' ')).toMatch(/email/)
      await registry.setCompatibility('BACKWARD_TRANSITIVE', subject)
      expect((await registry.checkCompatibility(subject, v3)).compatible).toBe(false)
      // The transitive level also governs registration.
      expect(await codeOf(registry.register(subject, v3))).toBe('TRIB_REGISTRY_INCOMPATIBLE')
      // FORWARD: readers of the latest (required email) must read what the new schema writes.
      await registry.setCompatibility('FORWARD', subject)
      expect((await registry.checkCompatibility(subject, v3)).compatible).toBe(true)
      expect((await registry.checkCompatibility(subject, v1)).compatible).toBe(false)
      expect((await registry.checkCompatibility(subject, v2)).compatible).toBe(false)
      // Anything is compatible with a subject that has no versions yet.
      expect((await registry.checkCompatibility(unique('empty-value'), v1)).compatible).toBe(true)
    })

    it('reads and writes the global level; subjects without their own follow it', async () => {
      const subject = unique('global-value')
      const own = unique('own-value')
      const before = await registry.getCompatibility()
      try {
        await registry.setCompatibility('FULL', own)
        await registry.setCompatibility('FORWARD_TRANSITIVE')
        expect(await registry.getCompatibility()).toBe('FORWARD_TRANSITIVE')
        expect(await registry.getCompatibility(subject)).toBe('FORWARD_TRANSITIVE')
        expect(await registry.getCompatibility(own)).toBe('FULL')
      } finally {
        await registry.setCompatibility(before)
      }
      expect(await registry.getCompatibility(subject)).toBe(before)
    })

    it('soft-deletes versions: hidden from reads, numbers kept, ids still resolve', async () => {
      const subject = unique('softv-value')
      const { v1, v2 } = fresh()
      await registry.register(subject, v1)
      const two = await registry.register(subject, v2)
      expect(await registry.deleteVersion(subject, 2)).toBe(2)
      expect(await registry.listVersions(subject)).toEqual([1])
      expect((await registry.getVersion(subject, 'latest')).version).toBe(1)
      expect(await codeOf(registry.getVersion(subject, 2))).toBe('TRIB_REGISTRY_VERSION_NOT_FOUND')
      expect(await codeOf(registry.deleteVersion(subject, 2))).toBe('TRIB_REGISTRY_VERSION_SOFT_DELETED')
      expect(canonicalSchema(await registry.schemaById(two.id))).toBe(canonicalSchema(v2))
      // Registering it again makes a new version with the same id.
      expect(await registry.register(subject, v2)).toEqual({ id: two.id, version: 3 })
    })

    it('deletes permanently only what was soft-deleted first', async () => {
      const subject = unique('hardv-value')
      const { v1, v2 } = fresh()
      await registry.register(subject, v1)
      await registry.register(subject, v2)
      expect(await codeOf(registry.deleteVersion(subject, 1, true))).toBe('TRIB_REGISTRY_VERSION_NOT_SOFT_DELETED')
      await registry.deleteVersion(subject, 1)
      expect(await registry.deleteVersion(subject, 1, true)).toBe(1)
      expect(await codeOf(registry.deleteVersion(subject, 1, true))).toBe('TRIB_REGISTRY_VERSION_NOT_FOUND')
      expect(await codeOf(registry.deleteSubject(subject, true))).toBe('TRIB_REGISTRY_SUBJECT_NOT_SOFT_DELETED')
    })

    it('deletes a subject softly, then permanently; its ids still resolve and versions restart', async () => {
      const subject = unique('subj-value')
      const { v1, v2 } = fresh()
      const one = await registry.register(subject, v1)
      const two = await registry.register(subject, v2)
      expect(await registry.deleteSubject(subject)).toEqual([1, 2])
      expect(await registry.listSubjects()).not.toContain(subject)
      expect(await codeOf(registry.listVersions(subject))).toBe('TRIB_REGISTRY_SUBJECT_NOT_FOUND')
      expect(await registry.lookup(subject, v1)).toBeUndefined()
      expect(await codeOf(registry.deleteSubject(subject))).toBe('TRIB_REGISTRY_SUBJECT_SOFT_DELETED')
      expect(await registry.deleteSubject(subject, true)).toEqual([1, 2])
      expect(await codeOf(registry.deleteSubject(subject, true))).toBe('TRIB_REGISTRY_SUBJECT_NOT_FOUND')
      expect(canonicalSchema(await registry.schemaById(one.id))).toBe(canonicalSchema(v1))
      expect(await registry.register(subject, v2)).toEqual({ id: two.id, version: 1 })
    })

    it('fails with the TRIB_REGISTRY_* code of each Confluent error, naming what was asked', async () => {
      const subject = unique('errors-value')
      const missing = unique('missing-value')
      const { v1 } = fresh()
      await registry.register(subject, v1)
      const unknownId = 2_000_000_000 + Math.floor(Math.random() * 100_000_000)
      const cases: Array<[() => Promise<unknown>, ErrorCode, string]> = [
        [() => registry.schemaById(unknownId), 'TRIB_REGISTRY_SCHEMA_NOT_FOUND', String(unknownId)],
        [() => registry.getVersion(missing, 'latest'), 'TRIB_REGISTRY_SUBJECT_NOT_FOUND', missing],
        [() => registry.listVersions(missing), 'TRIB_REGISTRY_SUBJECT_NOT_FOUND', missing],
        [() => registry.getVersion(subject, 99), 'TRIB_REGISTRY_VERSION_NOT_FOUND', subject],
        [() => registry.getVersion(subject, 0), 'TRIB_REGISTRY_INVALID_VERSION', subject],
        [() => registry.deleteVersion(subject, -1), 'TRIB_REGISTRY_INVALID_VERSION', subject],
        [() => registry.deleteSubject(missing), 'TRIB_REGISTRY_SUBJECT_NOT_FOUND', missing],
        [() => registry.register(subject, '{"type":"record","name":"NoFields"}'), 'TRIB_REGISTRY_INVALID_SCHEMA', ''],
        [() => registry.register(subject, '{not json'), 'TRIB_REGISTRY_INVALID_SCHEMA', ''],
        [() => registry.lookup(subject, { type: 'nonsense' }), 'TRIB_REGISTRY_INVALID_SCHEMA', ''],
        [() => registry.setCompatibility('SIDEWAYS' as never), 'TRIB_REGISTRY_INVALID_COMPATIBILITY', 'SIDEWAYS'],
        [() => registry.setCompatibility('backward' as never, subject), 'TRIB_REGISTRY_INVALID_COMPATIBILITY', subject],
      ]
      for (const [call, code, named] of cases) {
        const e = await call().catch((err: unknown) => err)
        expect(isTributaryError(e) ? e.code : e, `${code} ${named}`).toBe(code)
        expect((e as Error).message).toContain(named)
      }
    })
  })
}
