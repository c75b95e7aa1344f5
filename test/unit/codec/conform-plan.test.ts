import { describe, expect, it } from 'vitest'
import { compileConformer } from '../../../runtime/codec/types/conform.ts'
import { planRow, type RowPlan, type WriterField } from '../../../runtime/codec/types/conform-plan.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'

const reader = createType({
  type: 'record',
  name: 'R',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'city', type: ['null', 'string'], default: null },
    { name: 'plan', type: { type: 'enum', name: 'Plan', symbols: ['free', 'pro'] } },
    { name: 'born', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 } },
    { name: 'flag', type: 'boolean', default: false },
    { name: 'ref', type: { type: 'string', logicalType: 'uuid' } },
  ],
})

const writer: WriterField[] = [
  { name: 'id', nullable: false, produces: { kind: 'int' } },
  { name: 'name', nullable: false, produces: { kind: 'string' } },
  { name: 'city', nullable: true, produces: { kind: 'string' } },
  { name: 'plan', nullable: false, produces: { kind: 'string' } },
  { name: 'born', nullable: true, produces: { kind: 'text', family: 'date' } },
  { name: 'at', nullable: false, produces: { kind: 'text', family: 'timestamp', digits: 6 } },
  { name: 'amount', nullable: false, produces: { kind: 'text', family: 'decimal', scale: 2 } },
  { name: 'extra', nullable: false, produces: { kind: 'string' } },
  { name: 'ref', nullable: false, produces: { kind: 'text', family: 'uuid' } },
]

/** Builds a row the way a compiled reader does: from writer values, by the plan. */
function build(plan: RowPlan, values: unknown[]): Record<string, unknown> | 'failed' {
  const row: Record<string, unknown> = {}
  for (const step of plan.steps) {
    const v = 'value' in step ? step.value() : step.convert ? step.convert(values[step.from]) : values[step.from]
    if (v === plan.failed) return 'failed'
    row[step.name] = v
  }
  return row
}

describe('row plans', () => {
  const plan = planRow(reader, writer)!
  const conform = compileConformer(reader)
  const rowOf = (values: unknown[]) => Object.fromEntries(writer.map((f, i) => [f.name, values[i]]))

  it('checks only what the writer does not guarantee', () => {
    const converts = Object.fromEntries(plan.steps.map((s) => [s.name, 'value' in s ? 'default' : s.convert ? 'convert' : 'identity']))
    expect(converts).toEqual({ id: 'identity', name: 'identity', city: 'identity', plan: 'convert', born: 'convert', at: 'convert', amount: 'convert', flag: 'default', ref: 'identity' })
  })

  it('builds what conform builds, and fails where conform fails', () => {
    const ref = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
    const good = [7, 'Ada', null, 'pro', '1990-02-28', '2026-11-01T08:00:00.000001Z', '1234.50', 'dropped', ref]
    const variants = [
      good,
      [7, 'Ada', 'Paris', 'free', null, '2026-11-01T08:00:00.000001Z', '-0.05', 'x', ref],
      [7, 'Ada', null, 'gold', null, '2026-11-01T08:00:00.000001Z', '1.00', 'x', ref], // not a symbol
      [7, 'Ada', null, 'pro', '+12345-01-01', '2026-11-01T08:00:00.000001Z', '1.00', 'x', ref], // a date out of range
      [7, 'Ada', null, 'pro', null, '+12345-11-01T08:00:00.000001Z', '1.00', 'x', ref], // not canonical
      [7, 'Ada', null, 'pro', null, '2026-11-01T08:00:00.000001Z', '12345.00', 'x', ref], // beyond the precision
    ]
    for (const values of variants) {
      let expected: unknown
      try {
        expected = conform(rowOf(values))
      } catch {
        expected = 'failed'
      }
      expect(build(plan, values)).toEqual(expected)
    }
    expect(build(plan, good)).toEqual({ id: 7, name: 'Ada', city: null, plan: 'pro', born: '1990-02-28', at: '2026-11-01T08:00:00.000001Z', amount: '1234.50', flag: false, ref })
  })

  it('has no plan when a reader field without default is missing, or the reader is not a record', () => {
    expect(planRow(reader, writer.filter((f) => f.name !== 'plan'))).toBeUndefined()
    expect(planRow(createType('string'), writer)).toBeUndefined()
  })
})
