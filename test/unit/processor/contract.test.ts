import { describe, expect, it } from 'vitest'
import { compileContract } from '../../../runtime/processor/contract.ts'

describe('contract rules', () => {
  const check = compileContract({
    email: { required: true, pattern: '^[^@]+@[^@]+$' },
    age: { range: { min: 13, max: 120 } },
    plan: { acceptedValues: ['free', 'premium'] },
    'address.city': { required: true, maxLength: 10 },
  })
  const ok = { email: 'a@b', age: 30, plan: 'free', address: { city: 'Berlin' } }

  it('passes a valid record and absent optional fields', () => {
    expect(check(ok)).toBeUndefined()
    expect(check({ email: 'a@b', address: { city: 'X' } })).toBeUndefined()
  })

  it.each([
    [{ ...ok, email: null }, 'email', 'required'],
    [{ ...ok, email: 'nope' }, 'email', 'pattern'],
    [{ ...ok, age: 12 }, 'age', 'range'],
    [{ ...ok, age: 121 }, 'age', 'range'],
    [{ ...ok, age: 'old' }, 'age', 'range'],
    [{ ...ok, plan: 'gold' }, 'plan', 'acceptedValues'],
    [{ ...ok, address: {} }, 'address.city', 'required'],
    [{ ...ok, address: { city: 'Llanfairpwllgwyngyll' } }, 'address.city', 'maxLength'],
  ])('reports %j as a %s %s violation', (record, field, rule) => {
    const v = check(record as Record<string, unknown>)
    expect(v).toMatchObject({ field, rule })
    expect(v!.message.startsWith(`${field}: `)).toBe(true)
  })

  it('accepts numeric strings for ranges (decimals are strings)', () => {
    const money = compileContract({ amount: { range: { min: 0 } } })
    expect(money({ amount: '12.50' })).toBeUndefined()
    expect(money({ amount: '-0.01' })?.rule).toBe('range')
  })
})
