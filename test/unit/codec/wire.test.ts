import { describe, expect, it } from 'vitest'
import { frame, frameSchemaId, peekSchemaId, unframe } from '../../../runtime/codec/avro/wire.ts'

describe('Confluent wire format', () => {
  it('frames and unframes: magic 0, 4-byte big-endian id, payload', () => {
    const framed = frame(258, Buffer.from([7, 8, 9]))
    expect(framed.toString('hex')).toBe('0000000102070809')
    const { id, payload } = unframe(framed)
    expect(id).toBe(258)
    expect([...payload]).toEqual([7, 8, 9])
    expect(peekSchemaId(framed)).toBe(258)
  })

  it('keeps ids up to 2^31-1 and an empty payload', () => {
    expect(unframe(frame(0x7fffffff, Buffer.alloc(0)))).toEqual({ id: 0x7fffffff, payload: Buffer.alloc(0) })
    expect(() => frame(-1, Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'TRIB_ENCODE_FAILED' }))
  })

  it('bad magic: names the byte found, and hints at JSON', () => {
    expect(() => unframe(Buffer.from('{"id":1}'))).toThrow(
      expect.objectContaining({ code: 'TRIB_DECODE_MAGIC', message: expect.stringMatching(/0x7b \('\{'\).*JSON/) }),
    )
    expect(() => frameSchemaId(Buffer.from([1, 0, 0, 0, 1]))).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_MAGIC', message: expect.stringContaining('0x01') }))
    expect(peekSchemaId(Buffer.from([1, 0, 0, 0, 1]))).toBeUndefined()
  })

  it('truncated frame: shorter than the header', () => {
    for (const bytes of [[], [0], [0, 0, 0, 1]]) {
      expect(() => unframe(Buffer.from(bytes))).toThrow(
        expect.objectContaining({ code: 'TRIB_DECODE_MAGIC', message: expect.stringContaining(`${bytes.length} byte(s)`) }),
      )
      expect(peekSchemaId(Buffer.from(bytes))).toBeUndefined()
    }
    expect(peekSchemaId(null)).toBeUndefined()
  })
})
