import fs from 'node:fs'
import path from 'node:path'
import type { IncomingMessage } from 'node:http'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { AccessControl, type Pii, strictest } from '../../../runtime/access/access.ts'
import { authenticate, basicAuth, bearerTokens } from '../../../runtime/access/authenticate.ts'
import { inAudience, type Principal } from '../../../runtime/access/principal.ts'
import { loadConfig } from '../../../runtime/config/load.ts'
import { loadProduct } from '../../../runtime/product/load.ts'
import { profilesAccess, restrictedUserProfiles } from '../../helpers/access.ts'
import { failure, repoRoot, tempDir } from '../../helpers/runtime.ts'

const request = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

describe('authentication', () => {
  const ops: Principal = { name: 'ops', groups: ['admin'] }
  const ci: Principal = { name: 'ci', groups: [] }
  const authenticators = [bearerTokens([{ token: 'ops-token-0123456789', principal: ops }]), basicAuth([{ username: 'ci', password: 'ci-password', principal: ci }])]

  it('maps a bearer token or basic credentials to their principal, no credential to anonymous', () => {
    expect(authenticate(request('Bearer ops-token-0123456789'), authenticators)).toBe(ops)
    expect(authenticate(request('bearer ops-token-0123456789'), authenticators)).toBe(ops)
    expect(authenticate(request(basic('ci', 'ci-password')), authenticators)).toBe(ci)
    expect(authenticate(request(), authenticators)).toBeNull()
  })

  it('refuses a credential that proves nobody, whatever its form, instead of treating it as anonymous', () => {
    for (const header of [
      'Bearer ops-token-012345678',
      'Bearer ops-token-0123456789x',
      'Bearer ',
      basic('ci', 'wrong'),
      basic('ops', 'ops-token-0123456789'),
      'Basic not-base64-at-all',
      'Digest username="ci"',
      'ops-token-0123456789',
      '',
    ])
      expect(authenticate(request(header), authenticators), header).toBe('refused')
  })

  it('matches audiences by name, group and "*", never for anonymous', () => {
    expect(inAudience(['ops'], ops)).toBe(true)
    expect(inAudience(['group:admin'], ops)).toBe(true)
    expect(inAudience(['group:admin'], ci)).toBe(false)
    expect(inAudience(['*'], ci)).toBe(true)
    expect(inAudience(['*'], null)).toBe(false)
    expect(inAudience([], ops)).toBe(false)
  })
})

describe('access lists', () => {
  const dir = tempDir('trib-access-unit-')
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  const product = loadProduct(restrictedUserProfiles(dir, profilesAccess), { schemaDirs: [path.join(repoRoot, 'schemas')] })
  const owner: Principal = { name: 'owner', groups: ['user-management'] }
  const analyst: Principal = { name: 'analyst', groups: ['analysts'] }
  const outsider: Principal = { name: 'outsider', groups: [] }
  const admin: Principal = { name: 'control', groups: ['admin'] }
  const access = new AccessControl({ authenticators: [], principals: [owner, analyst, outsider, admin], rules: { control: ['group:admin'], registryWrite: ['group:admin'] }, products: [product] })
  const read = (port: string) => ({ kind: 'read', product: 'user-profiles', port }) as const

  it('opens what the product does not restrict, and restricts what it does', () => {
    expect(access.allows(null, { kind: 'open' })).toBe(true)
    expect(access.allows(null, read('profiles'))).toBe(false)
    expect(access.allows(analyst, read('profiles'))).toBe(true)
    expect(access.allows(outsider, read('profiles'))).toBe(false)
    expect(access.allows(analyst, read('dlq'))).toBe(false)
    expect(access.allows(owner, read('dlq'))).toBe(true)
    // Another product without an access block stays open.
    expect(access.allows(null, { kind: 'read', product: 'top-podcasts', port: 'daily-plays' })).toBe(true)
  })

  it('closes writes: the product names who changes it, the runtime who writes to the registry', () => {
    expect(access.allows(owner, { kind: 'control', product: 'user-profiles' })).toBe(true)
    expect(access.allows(admin, { kind: 'control', product: 'user-profiles' })).toBe(false)
    expect(access.allows(admin, { kind: 'control', product: 'top-podcasts' })).toBe(true)
    expect(access.allows(owner, { kind: 'registry-write' })).toBe(false)
    expect(access.allows(admin, { kind: 'registry-write' })).toBe(true)
    expect(access.allows(null, { kind: 'registry-read' })).toBe(true)
  })

  it('answers 401 without a principal and 403 for a principal without the right', async () => {
    expect((await failure(Promise.resolve().then(() => access.require(null, read('profiles')))))).toMatchObject({ code: 'TRIB_HTTP_UNAUTHORIZED' })
    const e = await failure(Promise.resolve().then(() => access.require(outsider, read('profiles'))))
    expect(e.code).toBe('TRIB_HTTP_FORBIDDEN')
    expect(e.message).toBe('outsider may not read user-profiles.profiles')
  })

  it('gives each reader its PII variant, and a reader no variant names the strictest of them', () => {
    expect(access.readerPolicy(owner, 'user-profiles', 'profiles')).toEqual({})
    expect(access.readerPolicy(analyst, 'user-profiles', 'profiles')).toEqual({ email: 'hash', display_name: 'mask', city: 'drop' })
    expect(access.readerPolicy(null, 'user-profiles', 'profiles')).toEqual({ email: 'hash', display_name: 'mask', city: 'drop' })
    expect(access.readerPolicy(analyst, 'top-podcasts', 'daily-plays')).toBeUndefined()
  })

  it('lists access entries that name nobody configured', () => {
    expect(access.unknownAudience()).toEqual([])
    const lonely = new AccessControl({ authenticators: [], principals: [owner], rules: { control: ['group:admin'], registryWrite: ['nobody'] }, products: [product] })
    expect(lonely.unknownAudience().sort()).toEqual(['group:admin', 'group:analysts', 'nobody'])
  })
})

describe('the strictest PII variant', () => {
  const action = fc.constantFrom('mask' as const, 'hash' as const, 'drop' as const)
  const policy = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd.e'), action)
  const strength = { mask: 1, hash: 2, drop: 3 }

  it('covers every field of every variant, at least as strictly as each', () => {
    fc.assert(
      fc.property(fc.array(policy, { minLength: 1, maxLength: 5 }), (policies: Pii[]) => {
        const s = strictest(policies)
        for (const p of policies) for (const [field, a] of Object.entries(p)) expect(strength[s[field]!]).toBeGreaterThanOrEqual(strength[a])
        expect(Object.keys(s).sort()).toEqual([...new Set(policies.flatMap((p) => Object.keys(p)))].sort())
      }),
    )
  })
})

describe('the configuration', () => {
  it('builds principals from tokens, basic credentials and the control token', () => {
    const config = loadConfig({
      env: { TRIBUTARY_HTTP_CONTROL_TOKEN: 'control-token-0123456789', OPS_TOKEN: 'ops-token-from-env-0123' },
      flags: { 'access.principals': { ops: { token: { env: 'OPS_TOKEN' }, groups: ['admin'] }, ci: { basic: { username: 'ci', password: 'ci-password-1' } } } },
    })
    const access = AccessControl.fromConfig(config, [], { OPS_TOKEN: 'ops-token-from-env-0123' })
    expect(access.authenticate(request('Bearer control-token-0123456789'))).toEqual({ name: 'control', groups: ['admin'] })
    expect(access.authenticate(request('Bearer ops-token-from-env-0123'))).toEqual({ name: 'ops', groups: ['admin'] })
    expect(access.authenticate(request(basic('ci', 'ci-password-1')))).toEqual({ name: 'ci', groups: [] })
  })

  it('refuses a principal named like the control token, naming the path', async () => {
    const config = loadConfig({ env: { TRIBUTARY_HTTP_CONTROL_TOKEN: 'control-token-0123456789' }, flags: { 'access.principals': { control: { token: 'another-token-0123456789' } } } })
    expect((await failure(Promise.resolve().then(() => AccessControl.fromConfig(config))))).toMatchObject({ code: 'TRIB_CONFIG_INVALID', message: expect.stringContaining('access.principals.control') })
  })
})
