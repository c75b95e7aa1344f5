import { describe, expect, it } from 'vitest'
import { canonicalSchema } from '../../../runtime/registry/canonical.ts'

describe('canonical schema text', () => {
  it('ignores whitespace, key order, namespace spelling and {"type": primitive} wrappers', () => {
    const a = '{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"n","type":{"type":"record","name":"Name","fields":[]}},{"name":"m","type":"Name"}]}'
    const b = {
      fields: [
        { type: { type: 'long' }, name: 'id', order: 'ascending' },
        { name: 'n', type: { name: 'com.example.Name', type: 'record', fields: [] } },
        { name: 'm', type: 'com.example.Name' },
      ],
      name: 'com.example.User',
      type: 'record',
    }
    expect(canonicalSchema(a)).toBe(canonicalSchema(b))
    expect(JSON.parse(canonicalSchema(a))).toEqual({
      type: 'record',
      name: 'com.example.User',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'n', type: { type: 'record', name: 'com.example.Name', fields: [] } },
        { name: 'm', type: 'com.example.Name' },
      ],
    })
  })

  it('keeps what readers depend on: logical types, defaults, docs, custom attributes', () => {
    const base = { type: 'record', name: 'R', fields: [{ name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } }] }
    const variants = [
      { ...base, fields: [{ name: 'at', type: 'long' }] },
      { ...base, fields: [{ ...base.fields[0], default: 0 }] },
      { ...base, doc: 'events' },
      { ...base, 'connect.name': 'server.public.r.Value' },
      { ...base, fields: [{ name: 'at', type: { type: 'long', logicalType: 'timestamp-millis', 'connect.name': 'org.apache.kafka.connect.data.Timestamp' } }] },
    ]
    const texts = new Set([base, ...variants].map((s) => canonicalSchema(s)))
    expect(texts.size).toBe(variants.length + 1)
    expect(canonicalSchema(variants[3] as object)).toContain('"connect.name":"server.public.r.Value"')
  })

  it('qualifies short names with the enclosing namespace', () => {
    const s = {
      type: 'record',
      name: 'Outer',
      fields: [
        { name: 'a', type: { type: 'enum', name: 'E', symbols: ['X'] } },
        { name: 'o', type: { type: 'enum', name: 'other.E', symbols: ['Y'] } },
        { name: 'b', type: { type: 'record', name: 'In', fields: [{ name: 'e', type: 'E' }] } },
        { name: 'c', type: { type: 'record', name: 'In2', namespace: 'ns', fields: [{ name: 'e', type: 'other.E' }, { name: 'f', type: { type: 'fixed', name: 'F', size: 1 } }] } },
      ],
    }
    const text = canonicalSchema(s)
    expect(text).toContain('"name":"In","fields":[{"name":"e","type":"E"}]')
    expect(text).toContain('"name":"ns.In2","fields":[{"name":"e","type":"other.E"},{"name":"f","type":{"type":"fixed","name":"ns.F","size":1}}]')
  })

  it('rejects invalid schemas as TRIB_REGISTRY_INVALID_SCHEMA', () => {
    for (const bad of ['{not json', '{"type":"record","fields":[]}', '{"type":"strin"}', '{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}']) {
      expect(() => canonicalSchema(bad)).toThrow(expect.objectContaining({ code: 'TRIB_REGISTRY_INVALID_SCHEMA' }))
    }
  })
})
