import { describe, expect, it } from 'vitest'
import { encodeBatch, MIN_FRAME, parseRecords, type ChunkSource } from '../../../connectors/embedded-log/codec.ts'
import { TributaryError } from '../../../runtime/errors.ts'
import type { LogRecord, OutgoingRecord } from '../../../runtime/log/log.ts'

const src: ChunkSource = { file: '/x/00000000000000000000.seg', topic: 't', partition: 2, filePos: 1000 }
const records: OutgoingRecord[] = [
  { topic: 't', key: null, value: null },
  { topic: 't', key: Buffer.alloc(0), value: Buffer.from('v'), headers: { 'ünï-çødé': Buffer.from('h'), empty: Buffer.alloc(0) } },
  { topic: 't', key: Buffer.from('key'), value: Buffer.alloc(3000, 7), headers: {} },
]
const base = 2 ** 40 + 5 // needs the high 32 bits of the offset

describe('segment record codec', () => {
  it('round-trips keys, values, headers, timestamps and large offsets as subarrays of one buffer', () => {
    const buf = encodeBatch(records, base, [0, -1.5, 1_700_000_000_123])
    expect(buf.length).toBe(3 * MIN_FRAME + 1 + 3 + 3000 + (6 + Buffer.byteLength('ünï-çødé') + 1) + (6 + 5))
    const out: LogRecord[] = []
    const r = parseRecords(buf, 0, buf.length, src, base, 0, 10, out)
    expect(r).toEqual({ next: buf.length, nextOffset: base + 3 })
    expect(out.map((x) => [x.offset, x.timestamp, x.key?.toString() ?? null, x.value?.length ?? null])).toEqual([
      [base, 0, null, null],
      [base + 1, -1.5, '', 1],
      [base + 2, 1_700_000_000_123, 'key', 3000],
    ])
    expect(Object.keys(out[1]!.headers)).toEqual(['ünï-çødé', 'empty'])
    expect(out[2]!.value!.buffer).toBe(buf.buffer)
  })

  it('stops before a record cut by the limit, skips offsets below skipBelow, honours maxRecords', () => {
    const buf = encodeBatch(records, 0, [1, 2, 3])
    const out: LogRecord[] = []
    const partial = parseRecords(buf, 0, buf.length - 1, src, 0, 1, 10, out)
    expect(partial.nextOffset).toBe(2)
    expect(out.map((x) => x.offset)).toEqual([1])
    const capped: LogRecord[] = []
    expect(parseRecords(buf, 0, buf.length, src, 0, 0, 2, capped).nextOffset).toBe(2)
    expect(capped).toHaveLength(2)
  })

  it('names file, byte position and offset when a checksum or an offset does not match', () => {
    const buf = encodeBatch(records, 10, [1, 2, 3])
    const second = MIN_FRAME
    buf[second + 30] = buf[second + 30]! ^ 1
    const e = (() => {
      try {
        parseRecords(buf, 0, buf.length, src, 10, 0, 10, [])
      } catch (err) {
        return err as TributaryError
      }
      throw new Error('expected a corruption error')
    })()
    expect(e.code).toBe('TRIB_LOG_CORRUPT')
    expect(e.details).toMatchObject({ file: src.file, position: 1000 + second, offset: 11, topic: 't', partition: 2 })
    expect(e.message).toContain(src.file)
    expect(() => parseRecords(encodeBatch(records, 10, [1, 2, 3]), 0, buf.length, src, 11, 0, 10, [])).toThrow(/holds offset 10 where 11 was expected/)
  })
})
