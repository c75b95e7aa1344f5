import fs from 'node:fs'
import path from 'node:path'
import { inspect } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { AccessControl } from '../../../runtime/access/access.ts'
import { loadConfig, redactConfig } from '../../../runtime/config/load.ts'
import { failure, tempDir } from '../../helpers/runtime.ts'

const dir = tempDir('trib-secrets-')
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const secretFile = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

describe('secrets in the configuration', () => {
  const literal = 'literal-token-0123456789'
  const fromEnv = 'env-token-abcdefghijkl'
  const fromFile = 'file-password-xyz'

  const config = () =>
    loadConfig({
      env: {},
      flags: {
        'access.principals': {
          a: { token: literal },
          b: { token: { env: 'B_TOKEN' } },
          c: { basic: { username: 'c', password: { file: secretFile('c', `${fromFile}\n`) } } },
        },
      },
    })

  it('reads values from the config, the environment or a file (without its final newline)', () => {
    const access = AccessControl.fromConfig(config(), [], { B_TOKEN: fromEnv })
    const req = (authorization: string) => ({ headers: { authorization } }) as never
    expect(access.authenticate(req(`Bearer ${literal}`))).toMatchObject({ name: 'a' })
    expect(access.authenticate(req(`Bearer ${fromEnv}`))).toMatchObject({ name: 'b' })
    expect(access.authenticate(req(`Basic ${Buffer.from(`c:${fromFile}`).toString('base64')}`))).toMatchObject({ name: 'c' })
  })

  it('never shows a value: config --print, JSON, util.inspect, and errors', async () => {
    const c = config()
    const shown = [JSON.stringify(redactConfig(c)), JSON.stringify(c), inspect(c, { depth: 10 }), String(c.access.principals.a!.token)]
    for (const text of shown) {
      expect(text).not.toContain(literal)
      expect(text).not.toContain(fromFile)
    }
    expect(JSON.stringify(redactConfig(c))).toContain('"token":"***"')
    expect(JSON.stringify(redactConfig(c))).toContain('"token":{"env":"B_TOKEN"}')
    const missing = await failure(Promise.resolve().then(() => AccessControl.fromConfig(c, [], {})))
    expect(missing).toMatchObject({ code: 'TRIB_CONFIG_INVALID', message: 'config access.principals.b.token: environment variable B_TOKEN is not set' })
    const short = await failure(Promise.resolve().then(() => AccessControl.fromConfig(c, [], { B_TOKEN: 'short-secret' })))
    expect(short.message).toBe('config access.principals.b.token: the secret from {"env":"B_TOKEN"} is shorter than 16 characters')
    expect(short.message).not.toContain('short-secret')
  })

  it('validates principals once, naming the path and never the value', async () => {
    const bad = async (principals: unknown) => (await failure(Promise.resolve().then(() => loadConfig({ env: {}, flags: { 'access.principals': principals } })))).message
    expect(await bad({ a: { token: 'short' } })).toMatch(/^config access\.principals\.a\.token/)
    expect(await bad({ a: { token: 'short' } })).not.toContain('short"')
    expect(await bad({ a: { groups: ['x'] } })).toMatch(/access\.principals\.a .*needs a token or basic credentials/)
    expect(await bad({ anonymous: { token: literal } })).toMatch(/access\.principals/)
    expect(await bad({ a: { basic: { username: 'same', password: 'password-1' } }, b: { basic: { username: 'same', password: 'password-2' } } })).toMatch(/access\.principals\.b\.basic\.username.*also a's/)
  })

  it('reads any secret environment variable from <NAME>_FILE', () => {
    const c = loadConfig({ env: { TRIBUTARY_HTTP_CONTROL_TOKEN_FILE: secretFile('control', 'control-token-from-file-0\n') } })
    expect(c.http.controlToken).toBe('control-token-from-file-0')
    expect(JSON.stringify(redactConfig(c))).not.toContain('control-token-from-file-0')
  })
})
