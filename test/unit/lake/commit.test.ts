import { describe, expect, it } from 'vitest'
import { applyCommit, type TableCommit, type TableUpdate } from '../../../runtime/lake/iceberg/commit.ts'
import { checkMetadata } from '../../../runtime/lake/iceberg/metadata.ts'
import type { Schema, Snapshot, TableMetadata } from '../../../runtime/lake/iceberg/types.ts'

const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }, { id: 2, name: 'ts', required: false, type: 'timestamptz' }] }

function created(nowMs = 1000): TableMetadata {
  return applyCommit(
    undefined,
    {
      requirements: [{ type: 'assert-create' }],
      updates: [
        { action: 'assign-uuid', uuid: '11111111-2222-3333-4444-555555555555' },
        { action: 'set-location', location: 'file:///lake/t/' },
        { action: 'add-schema', schema, 'last-column-id': 2 },
        { action: 'set-current-schema', 'schema-id': -1 },
        { action: 'add-spec', spec: { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' }] } },
        { action: 'set-default-spec', 'spec-id': -1 },
      ],
    },
    { nowMs },
  )
}

const snap = (id: number, seq: number, parent?: number, ts = 2000): Snapshot => ({
  'snapshot-id': id,
  ...(parent !== undefined ? { 'parent-snapshot-id': parent } : {}),
  'sequence-number': seq,
  'timestamp-ms': ts,
  'manifest-list': `file:///lake/t/metadata/snap-${id}.avro`,
  summary: { operation: 'append' },
  'schema-id': 0,
})

const addTo = (branch: string, s: Snapshot): TableUpdate[] => [
  { action: 'add-snapshot', snapshot: s },
  { action: 'set-snapshot-ref', 'ref-name': branch, type: 'branch', 'snapshot-id': s['snapshot-id'] },
]

describe('applyCommit', () => {
  it('creates a v2 table with every required field, and the result passes the reader checks', () => {
    const md = created()
    expect(md['format-version']).toBe(2)
    expect(md.location).toBe('file:///lake/t')
    expect(md['last-column-id']).toBe(2)
    expect(md['last-partition-id']).toBe(1000)
    expect(md['last-sequence-number']).toBe(0)
    expect(md['sort-orders']).toEqual([{ 'order-id': 0, fields: [] }])
    expect(checkMetadata(JSON.parse(JSON.stringify(md)), 'v1.metadata.json')).toEqual(md)
  })

  it('adds snapshots to main: current snapshot, snapshot-log, sequence numbers', () => {
    const base = created()
    const md = applyCommit(base, { requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }], updates: addTo('main', snap(10, 1)) }, { nowMs: 3000, baseMetadataFile: 'file:///lake/t/metadata/v1.metadata.json' })
    expect(md['current-snapshot-id']).toBe(10)
    expect(md.refs.main).toEqual({ 'snapshot-id': 10, type: 'branch' })
    expect(md['snapshot-log']).toEqual([{ 'timestamp-ms': 2000, 'snapshot-id': 10 }])
    expect(md['last-sequence-number']).toBe(1)
    expect(md['metadata-log']).toEqual([{ 'timestamp-ms': 1000, 'metadata-file': 'file:///lake/t/metadata/v1.metadata.json' }])
    expect(md['last-updated-ms']).toBe(3000)
    // the base is not modified: applyCommit is pure
    expect(base.snapshots).toEqual([])
  })

  it('keeps other branches apart from main and fast-forwards main at commit time', () => {
    let md = applyCommit(created(), { requirements: [], updates: addTo('main', snap(10, 1)) }, { nowMs: 3000 })
    md = applyCommit(md, { requirements: [], updates: addTo('audit', snap(11, 2, 10)) }, { nowMs: 4000 })
    expect(md['current-snapshot-id']).toBe(10)
    expect(md['snapshot-log']).toHaveLength(1)
    md = applyCommit(md, { requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 10 }], updates: [{ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 11 }] }, { nowMs: 5000 })
    expect(md['current-snapshot-id']).toBe(11)
    expect(md['snapshot-log'].at(-1)).toEqual({ 'timestamp-ms': 5000, 'snapshot-id': 11 })
  })

  it('refuses a stale sequence number, a duplicate snapshot, an unknown parent and tags on main', () => {
    const md = applyCommit(created(), { requirements: [], updates: addTo('main', snap(10, 1)) }, { nowMs: 3000 })
    const bad: [TableUpdate[], RegExp][] = [
      [addTo('main', snap(12, 1, 10)), /sequence number 1 is not above/],
      [addTo('main', snap(10, 2, 10)), /already exists/],
      [addTo('main', snap(13, 2, 99)), /parent snapshot 99/],
      [[{ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'tag', 'snapshot-id': 10 }], /main must be a branch/],
      [[{ action: 'set-current-schema', 'schema-id': 7 }], /schema 7 does not exist/],
    ]
    for (const [updates, message] of bad) {
      expect(() => applyCommit(md, { requirements: [], updates }, { nowMs: 4000 })).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_INVALID_UPDATE', message: expect.stringMatching(message) }))
    }
  })

  it('checks every requirement kind and reports a conflict naming what differed', () => {
    const md = applyCommit(created(), { requirements: [], updates: addTo('main', snap(10, 1)) }, { nowMs: 3000 })
    const failing: TableCommit['requirements'] = [
      { type: 'assert-create' },
      { type: 'assert-table-uuid', uuid: 'other' },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 9 },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null },
      { type: 'assert-ref-snapshot-id', ref: 'audit', 'snapshot-id': 10 },
      { type: 'assert-current-schema-id', 'current-schema-id': 1 },
      { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 3 },
      { type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': 999 },
      { type: 'assert-default-spec-id', 'default-spec-id': 1 },
      { type: 'assert-default-sort-order-id', 'default-sort-order-id': 1 },
    ]
    for (const r of failing) {
      expect(() => applyCommit(md, { requirements: [r], updates: [] }, { nowMs: 4000 }), r.type).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_COMMIT_CONFLICT', retriable: false }))
    }
    const passing: TableCommit['requirements'] = [
      { type: 'assert-table-uuid', uuid: md['table-uuid'] },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 10 },
      { type: 'assert-ref-snapshot-id', ref: 'audit', 'snapshot-id': null },
      { type: 'assert-current-schema-id', 'current-schema-id': 0 },
      { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 2 },
      { type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': 1000 },
      { type: 'assert-default-spec-id', 'default-spec-id': 0 },
      { type: 'assert-default-sort-order-id', 'default-sort-order-id': 0 },
    ]
    expect(() => applyCommit(md, { requirements: passing, updates: [] }, { nowMs: 4000 })).not.toThrow()
  })

  it('reuses an identical schema, bumps ids for a new one and keeps last-column-id growing', () => {
    const md = created()
    const same = applyCommit(md, { requirements: [], updates: [{ action: 'add-schema', schema: { ...schema, 'schema-id': 5 } }, { action: 'set-current-schema', 'schema-id': -1 }] }, { nowMs: 2000 })
    expect(same.schemas).toHaveLength(1)
    const wider: Schema = { ...schema, fields: [...schema.fields, { id: 3, name: 'n', required: false, type: 'string' }] }
    const next = applyCommit(md, { requirements: [], updates: [{ action: 'add-schema', schema: wider }, { action: 'set-current-schema', 'schema-id': -1 }] }, { nowMs: 2000 })
    expect(next['current-schema-id']).toBe(1)
    expect(next['last-column-id']).toBe(3)
  })

  it('removes snapshots, trims the snapshot-log up to the last removed one, and refuses referenced ones', () => {
    let md = created()
    md = applyCommit(md, { requirements: [], updates: addTo('main', snap(1, 1, undefined, 100)) }, { nowMs: 100 })
    md = applyCommit(md, { requirements: [], updates: addTo('main', snap(2, 2, 1, 200)) }, { nowMs: 200 })
    md = applyCommit(md, { requirements: [], updates: addTo('main', snap(3, 3, 2, 300)) }, { nowMs: 300 })
    md = applyCommit(md, { requirements: [], updates: [{ action: 'set-snapshot-ref', 'ref-name': 'keep', type: 'tag', 'snapshot-id': 1 }] }, { nowMs: 400 })
    expect(() => applyCommit(md, { requirements: [], updates: [{ action: 'remove-snapshots', 'snapshot-ids': [1] }] }, { nowMs: 500 })).toThrow(/still referenced by keep/)
    const after = applyCommit(md, { requirements: [], updates: [{ action: 'remove-snapshots', 'snapshot-ids': [2] }] }, { nowMs: 500 })
    expect(after.snapshots.map((s) => s['snapshot-id'])).toEqual([1, 3])
    expect(after['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([3])
  })

  it('sets and removes properties and refs; removing main clears the current snapshot', () => {
    let md = applyCommit(created(), { requirements: [], updates: addTo('main', snap(10, 1)) }, { nowMs: 3000 })
    md = applyCommit(md, { requirements: [], updates: [{ action: 'set-properties', updates: { a: '1', b: '2' } }, { action: 'remove-properties', removals: ['a'] }] }, { nowMs: 3000 })
    expect(md.properties).toEqual({ b: '2' })
    md = applyCommit(md, { requirements: [], updates: [{ action: 'remove-snapshot-ref', 'ref-name': 'main' }] }, { nowMs: 3000 })
    expect(md['current-snapshot-id']).toBeUndefined()
    expect(md.refs).toEqual({})
  })

  it('caps metadata-log at write.metadata.previous-versions-max', () => {
    let md = created()
    md = applyCommit(md, { requirements: [], updates: [{ action: 'set-properties', updates: { 'write.metadata.previous-versions-max': '2' } }] }, { nowMs: 1 })
    for (let v = 1; v <= 4; v++) md = applyCommit(md, { requirements: [], updates: [] }, { nowMs: v, baseMetadataFile: `v${v}.metadata.json` })
    expect(md['metadata-log'].map((e) => e['metadata-file'])).toEqual(['v3.metadata.json', 'v4.metadata.json'])
  })
})
