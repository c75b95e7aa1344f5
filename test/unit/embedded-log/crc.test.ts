import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { crc32Range } from '../../../connectors/embedded-log/crc.ts'

describe('crc32Range', () => {
  it('equals zlib crc32 for every length around the loop and native paths, at any offset', () => {
    const buf = Buffer.alloc(2048)
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + (i >> 3)) & 255
    for (const start of [0, 1, 3, 7]) {
      for (let length = 0; length <= 700; length += length < 40 ? 1 : 13) {
        expect(crc32Range(buf, start, start + length)).toBe(crc32(buf.subarray(start, start + length)))
      }
    }
    expect(crc32Range(Buffer.from('123456789'), 0, 9)).toBe(0xcbf43926) // the standard check value
  })
})
