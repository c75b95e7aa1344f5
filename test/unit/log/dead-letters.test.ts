import { describe, expect, it } from 'vitest'
import { TributaryError } from '../../../runtime/errors.ts'
import type { LogRecord } from '../../../runtime/log/log.ts'
import { DLQ_MAX_RECORD_BYTES, deadLetter, dlqHeaders } from '../../../runtime/log/dead-letters.ts'

const source = (value: Buffer | null): LogRecord => ({
  topic: 'in',
  partition: 2,
  offset: 41,
  timestamp: 1_700_000_000_000,
  key: Buffer.from('k'),
  value,
  headers: { trace: Buffer.from('abc') },
})

describe('dead letters', () => {
  it('keep the original bytes and headers and say why and where from', () => {
    const dead = deadLetter('p.dlq', source(Buffer.from('{"x":')), 'decode', 'events', new TributaryError('TRIB_DECODE_JSON', 'bad json at offset 5'))
    expect(dead.value?.toString()).toBe('{"x":')
    expect(dead.key?.toString()).toBe('k')
    const h = Object.fromEntries(Object.entries(dead.headers!).map(([k, v]) => [k, v.toString()]))
    expect(h).toMatchObject({
      trace: 'abc',
      [dlqHeaders.code]: 'TRIB_DECODE_JSON',
      [dlqHeaders.stage]: 'decode',
      [dlqHeaders.port]: 'events',
      [dlqHeaders.topic]: 'in',
      [dlqHeaders.partition]: '2',
      [dlqHeaders.offset]: '41',
    })
    expect(h[dlqHeaders.valueBytes]).toBeUndefined()
  })

  it('copy values up to the dead-letter limit, and name the source of larger ones', () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 1)
    expect(deadLetter('p.dlq', source(big), 'decode', 'events', new Error('x')).value).toBe(big)
    const huge = Buffer.alloc(DLQ_MAX_RECORD_BYTES, 1)
    const dead = deadLetter('p.dlq', source(huge), 'decode', 'events', new TributaryError('TRIB_RECORD_TOO_LARGE', 'too large'))
    expect(dead.value).toBeNull()
    expect(dead.headers![dlqHeaders.valueBytes]!.toString()).toBe(String(huge.length))
    expect(dead.headers![dlqHeaders.message]!.toString()).toContain('in/2@41')
  })
})
