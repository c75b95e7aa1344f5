import { describe, expect, it } from 'vitest'
import { murmur3 } from '../../../runtime/lake/iceberg/murmur3.ts'
import { applyTransform, bucketBytes, buildPartitionSpec, partitionPath } from '../../../runtime/lake/iceberg/partition.ts'
import { avroToIcebergSchema } from '../../../runtime/lake/iceberg/schema.ts'
import type { IcebergType } from '../../../runtime/lake/iceberg/types.ts'
import { parseDate } from '../../../runtime/codec/values/temporal.ts'

describe('partition transforms', () => {
  // The hash values listed in the Iceberg spec, appendix B.
  it('hashes like the spec for every type', () => {
    const cases: [IcebergType, unknown, number][] = [
      ['int', 34, 2017239379],
      ['long', 34, 2017239379],
      ['decimal(4, 2)', 1420n, -500754589],
      ['date', 17486, -653330422],
      ['time', 81068000000, -662762989],
      ['timestamp', 1510871468000000, -2047944441],
      ['timestamptz', 1510871468000000, -2047944441],
      ['string', 'iceberg', 1210000089],
      ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 1488055340],
      ['binary', Buffer.from([0, 1, 2, 3]), -188683207],
    ]
    for (const [type, value, hash] of cases) expect(murmur3(bucketBytes(type, value as never)), String(type)).toBe(hash)
  })

  it('buckets, days, hours, months and years', () => {
    expect(applyTransform('bucket[16]', 'long', 34)).toBe((2017239379 & 0x7fffffff) % 16)
    expect(applyTransform('bucket[7]', 'string', 'iceberg')).toBe(1210000089 % 7)
    const micros = Date.UTC(2024, 1, 29, 13, 45) * 1000
    expect(applyTransform('day', 'timestamptz', micros)).toBe(19782)
    expect(applyTransform('day', 'date', 19782)).toBe(19782)
    expect(applyTransform('hour', 'timestamp', micros)).toBe(19782 * 24 + 13)
    expect(applyTransform('month', 'timestamptz', micros)).toBe(54 * 12 + 1)
    expect(applyTransform('year', 'date', 19782)).toBe(54)
    expect(applyTransform('day', 'timestamptz', -1)).toBe(-1)
    expect(applyTransform('day', 'timestamptz', null)).toBeNull()
  })

  it('builds specs from short forms and names directories like Hive', () => {
    const { schema } = avroToIcebergSchema({ type: 'record', name: 'R', fields: [{ name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } }, { name: 'id', type: 'long' }, { name: 'c', type: 'string' }] })
    const { spec, lastPartitionId } = buildPartitionSpec(schema, ['day(ts)', 'bucket[8](id)', 'c', { source: 'ts', transform: 'hour' }], 0, 999)
    expect(spec.fields).toEqual([
      { 'source-id': 1, 'field-id': 1000, name: 'ts_day', transform: 'day' },
      { 'source-id': 2, 'field-id': 1001, name: 'id_bucket', transform: 'bucket[8]' },
      { 'source-id': 3, 'field-id': 1002, name: 'c', transform: 'identity' },
      { 'source-id': 1, 'field-id': 1003, name: 'ts_hour', transform: 'hour' },
    ])
    expect(lastPartitionId).toBe(1003)
    expect(partitionPath(spec, schema, { ts_day: 19782, id_bucket: 3, c: 'a b/c', ts_hour: 19782 * 24 + 13 })).toBe('ts_day=2024-02-29/id_bucket=3/c=a%20b%2Fc/ts_hour=2024-02-29-13')
    expect(() => buildPartitionSpec(schema, ['day(id)'], 0, 999)).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_INVALID_UPDATE' }))
    expect(() => buildPartitionSpec(schema, ['day(nope)'], 0, 999)).toThrow(/not a top-level field/)
    expect(() => buildPartitionSpec(schema, ['truncate[3](c)'], 0, 999)).toThrow(/not supported/)
  })

  it('is exact over the whole int64 range and before year 0', () => {
    const floorDiv = (a: bigint, b: bigint) => (a % b < 0n ? a / b - 1n : a / b)
    for (const micros of [2n ** 63n - 1n, 2n ** 63n - 2n, -(2n ** 63n), 2n ** 53n + 1n, -(2n ** 53n) - 1n, 86_400_000_000n * 104_249_991n - 1n, -86_400_000_000n * 104_249_991n]) {
      expect(applyTransform('day', 'timestamptz', micros), String(micros)).toBe(Number(floorDiv(micros, 86_400_000_000n)))
      const hours = floorDiv(micros, 3_600_000_000n)
      if (hours <= 2n ** 31n - 1n && hours >= -(2n ** 31n) + 1n) expect(applyTransform('hour', 'timestamp', micros), String(micros)).toBe(Number(hours))
      else expect(() => applyTransform('hour', 'timestamp', micros)).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_ROW_INVALID' }))
    }
    // 1 µs before midnight of a day beyond 2^53 µs still belongs to that day.
    const day = 120_000
    expect(applyTransform('day', 'timestamptz', BigInt(day + 1) * 86_400_000_000n - 1n)).toBe(day)
    // 44 BC (year -43, with a year 0): year and month from the calendar, not from a string.
    const ides = parseDate('-0043-03-15')!
    expect(applyTransform('year', 'date', ides)).toBe(-43 - 1970)
    expect(applyTransform('month', 'date', ides)).toBe((-43 - 1970) * 12 + 2)
    expect(applyTransform('year', 'timestamptz', BigInt(ides) * 86_400_000_000n)).toBe(-43 - 1970)
    const { schema } = avroToIcebergSchema({ type: 'record', name: 'R', fields: [{ name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } }] })
    const { spec } = buildPartitionSpec(schema, ['month(ts)', 'hour(ts)'], 0, 999)
    expect(partitionPath(spec, schema, { ts_month: -1, ts_hour: -1 })).toBe('ts_month=1969-12/ts_hour=1969-12-31-23')
  })
})
