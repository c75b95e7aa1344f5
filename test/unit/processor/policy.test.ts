import { describe, expect, it } from 'vitest'
import { compilePolicy, redactText } from '../../../runtime/processor/policy.ts'

describe('PII policies', () => {
  const redact = compilePolicy({ email: 'hash', phone: 'mask', city: 'drop', 'address.street': 'mask' }, 'pepper-pepper')
  const input = { email: 'ada@example.com', phone: '+49 30 1234567', city: 'Berlin', address: { street: 'Unter den Linden 1' }, name: 'Ada' }

  it('hashes with a salted HMAC, masks all but the last four characters, drops to null', () => {
    const out = redact(input)
    expect(out.email).toMatch(/^[0-9a-f]{64}$/)
    expect(out.email).toBe(redact({ ...input }).email)
    expect(compilePolicy({ email: 'hash' }, 'other-salt-x')(input).email).not.toBe(out.email)
    expect(out.phone).toBe('**********4567')
    expect(out.city).toBeNull()
    expect((out.address as { street: string }).street).toBe('**************en 1')
    expect(out.name).toBe('Ada')
  })

  it('never mutates the transform output and leaves nulls alone', () => {
    redact(input)
    expect(input.email).toBe('ada@example.com')
    expect(redact({ ...input, email: null, address: null }).email).toBeNull()
  })

  it('masks whole code points, so no surrogate pair is split into invalid UTF-16', () => {
    expect(redactText('mask', '😀a😀b😀', 's')).toBe('*a😀b😀')
    expect(redactText('mask', '😀😀', 's')).toBe('**')
    expect(Buffer.from(redactText('mask', '😀😀😀😀😀', 's')).toString()).toBe('*😀😀😀😀')
  })
})
