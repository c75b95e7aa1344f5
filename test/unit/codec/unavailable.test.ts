import { describe, expect, it } from 'vitest'
import { parseJsonChange } from '../../../runtime/codec/debezium/json.ts'
import { isUnavailable, takeUnavailable, UNAVAILABLE_PLACEHOLDER as P } from '../../../runtime/codec/debezium/unavailable.ts'

/** Debezium's placeholder for unchanged TOASTed values is found before conversion, in every form it takes. */
describe("Debezium's unavailable-value placeholder", () => {
  it('is recognised as text, as bytes, as base64 and as a one-element array, and nothing else', () => {
    for (const v of [P, Buffer.from(P), Buffer.from(P).toString('base64'), [P], [Buffer.from(P)]]) expect(isUnavailable(v), String(v)).toBe(true)
    for (const v of [null, '', `${P} `, P.toUpperCase(), Buffer.from(`${P}x`), [P, P], [], 42, { value: P }]) expect(isUnavailable(v), String(v)).toBe(false)
  })

  it('is taken out of a row (set to null) with its column named; a row without it is returned as is', () => {
    const row = { id: 1, doc: 'x' }
    expect(takeUnavailable(row)).toEqual({ row })
    expect(takeUnavailable(row).row).toBe(row)
    const taken = takeUnavailable({ id: 1, doc: P, tags: [P], blob: Buffer.from(P) })
    expect(taken.row).toEqual({ id: 1, doc: null, tags: null, blob: null })
    expect([...taken.unavailable!]).toEqual(['doc', 'tags', 'blob'])
  })

  it('never reaches a converter: a Decimal, a Json and a bytea column holding it are named, not misread or refused', () => {
    const field = (name: string, type: string, extra: object = {}) => ({ field: name, type, optional: true, ...extra })
    const row = {
      type: 'struct',
      optional: true,
      fields: [
        field('id', 'int64'),
        field('amount', 'bytes', { name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2' } }),
        field('doc', 'string', { name: 'io.debezium.data.Json' }),
        field('blob', 'bytes'),
      ],
    }
    const schema = { type: 'struct', fields: [{ ...row, field: 'before' }, { ...row, field: 'after' }, { field: 'op', type: 'string' }] }
    const after = { id: 7, amount: Buffer.from(P).toString('base64'), doc: P, blob: Buffer.from(P).toString('base64') }
    const event = parseJsonChange(JSON.stringify({ schema, payload: { op: 'u', before: null, after } }))
    expect(event.after).toEqual({ id: 7, amount: null, doc: null, blob: null })
    expect([...event.unavailable!].sort()).toEqual(['amount', 'blob', 'doc'])
    // Without the wrapper too.
    const bare = parseJsonChange(JSON.stringify({ op: 'u', before: null, after: { id: 7, doc: P } }))
    expect(bare.after).toEqual({ id: 7, doc: null })
    expect([...bare.unavailable!]).toEqual(['doc'])
  })
})
