import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type EmbeddedRegistry, openEmbeddedRegistry } from '../../../connectors/registry/embedded/index.ts'
import { toConfluentError } from '../../../runtime/registry/confluent-errors.ts'

const run = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))

const user = (fields: object[] = []) => ({
  type: 'record',
  name: 'com.example.User',
  fields: [{ name: 'id', type: 'long' }, ...fields],
})
const v1 = user()
const v2 = user([{ name: 'email', type: ['null', 'string'], default: null }])
const breaking = user([{ name: 'email', type: 'string' }])

let dir: string
let registry: EmbeddedRegistry

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-registry-'))
  registry = await openEmbeddedRegistry({ dir })
})
afterEach(async () => {
  await registry.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** The Confluent error code a call fails with. */
async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p
  } catch (e) {
    return toConfluentError(e).errorCode
  }
  throw new Error('expected the call to fail')
}

describe('versions and ids', () => {
  it('numbers versions per subject and serves them', async () => {
    expect(await registry.register('users-value', v1)).toEqual({ id: 1, version: 1 })
    expect(await registry.register('users-value', v2)).toEqual({ id: 2, version: 2 })
    expect(await registry.listVersions('users-value')).toEqual([1, 2])
    const latest = await registry.getVersion('users-value', 'latest')
    expect(latest).toMatchObject({ subject: 'users-value', version: 2, id: 2 })
    expect(JSON.parse(latest.schema)).toEqual(v2)
    expect((await registry.getVersion('users-value', 1)).id).toBe(1)
    expect(await registry.schemaById(2)).toBe(latest.schema)
    expect(await registry.listSubjects()).toEqual(['users-value'])
  })

  it('shares one id across subjects for the same schema', async () => {
    const a = await registry.register('a-value', v1)
    await registry.setCompatibility('NONE', 'b-value')
    await registry.register('b-value', { type: 'string' })
    expect(await registry.register('b-value', v1)).toEqual({ id: a.id, version: 2 })
    expect(await registry.versionsOfId(a.id)).toEqual([
      { subject: 'a-value', version: 1 },
      { subject: 'b-value', version: 2 },
    ])
  })

  it('re-registering is idempotent, whatever the spelling', async () => {
    const first = await registry.register('users-value', v1)
    const spelled = '{ "fields": [ {"type": {"type": "long"}, "name": "id"} ], "namespace": "com.example", "name": "User", "type": "record" }'
    expect(await registry.register('users-value', spelled)).toEqual(first)
    expect(await registry.listVersions('users-value')).toEqual([1])
    expect(await registry.lookup('users-value', spelled)).toMatchObject({ version: 1, id: first.id })
    expect(await registry.lookup('users-value', v2)).toBeUndefined()
    expect(await registry.lookup('nobody-value', v1)).toBeUndefined()
  })

  it('keeps ids, versions and levels after reopening', async () => {
    await registry.register('users-value', v1)
    await registry.register('users-value', v2)
    await registry.setCompatibility('FULL', 'users-value')
    await registry.close()
    registry = await openEmbeddedRegistry({ dir })
    expect(await registry.getVersion('users-value', 'latest')).toMatchObject({ id: 2, version: 2 })
    expect(await registry.getCompatibility('users-value')).toBe('FULL')
    expect(await registry.register('other-value', { type: 'string' })).toEqual({ id: 3, version: 1 })
  })

  it('unknown ids, subjects and versions fail with Confluent codes', async () => {
    await registry.register('users-value', v1)
    expect(await codeOf(registry.schemaById(99))).toBe(40403)
    expect(await codeOf(registry.getVersion('nobody', 1))).toBe(40401)
    expect(await codeOf(registry.listVersions('nobody'))).toBe(40401)
    expect(await codeOf(registry.getVersion('users-value', 7))).toBe(40402)
    expect(await codeOf(registry.getVersion('users-value', 0))).toBe(42202)
  })
})

describe('compatibility', () => {
  it('defaults to BACKWARD globally: an incompatible schema is refused with 409', async () => {
    await registry.register('users-value', v1)
    expect(await registry.getCompatibility()).toBe('BACKWARD')
    const code = await codeOf(registry.register('users-value', breaking))
    expect(code).toBe(409)
    await expect(registry.register('users-value', breaking)).rejects.toThrow(/users-value.*BACKWARD.*email/)
    expect(await registry.listVersions('users-value')).toEqual([1])
  })

  it('per-subject levels override the global one', async () => {
    await registry.register('loose-value', v1)
    await registry.register('strict-value', v1)
    await registry.setCompatibility('NONE', 'loose-value')
    expect(await registry.register('loose-value', breaking)).toMatchObject({ version: 2 })
    expect(await codeOf(registry.register('strict-value', breaking))).toBe(409)
    await registry.setCompatibility('NONE')
    expect(await registry.getCompatibility('strict-value')).toBe('NONE')
    expect(await registry.register('strict-value', breaking)).toMatchObject({ version: 2 })
    await registry.setCompatibility('FORWARD', 'strict-value')
    expect(await registry.subjectCompatibility('strict-value')).toBe('FORWARD')
    expect(await registry.deleteCompatibility('strict-value')).toBe('FORWARD')
    expect(await registry.getCompatibility('strict-value')).toBe('NONE')
  })

  it('transitive levels check every live version', async () => {
    const v3 = user([{ name: 'email', type: 'string', default: '' }, { name: 'x', type: 'int', default: 0 }])
    await registry.setCompatibility('BACKWARD_TRANSITIVE', 'users-value')
    await registry.register('users-value', v1)
    await registry.register('users-value', v2)
    // v3 reads v1 data (email takes its default) but not v2 data, whose email may be null.
    const r = await registry.checkCompatibility('users-value', v3)
    expect(r.compatible).toBe(false)
    expect(r.messages.join()).toMatch(/version 2/)
    expect((await registry.checkCompatibility('users-value', v3, 1)).compatible).toBe(true)
  })

  it('refuses invalid schemas (42201) and levels (42203)', async () => {
    expect(await codeOf(registry.register('users-value', '{"type":"record","fields":[]}'))).toBe(42201)
    expect(await codeOf(registry.register('users-value', 'not json'))).toBe(42201)
    expect(await codeOf(registry.setCompatibility('SIDEWAYS' as never))).toBe(42203)
    expect(await codeOf(registry.setCompatibility('backward' as never, 'users-value'))).toBe(42203)
  })
})

describe('deletes', () => {
  it('soft-deleted versions disappear from reads but keep their numbers and ids', async () => {
    await registry.register('users-value', v1)
    await registry.register('users-value', v2)
    expect(await registry.deleteVersion('users-value', 2)).toBe(2)
    expect(await registry.listVersions('users-value')).toEqual([1])
    expect(await codeOf(registry.getVersion('users-value', 2))).toBe(40402)
    expect((await registry.getVersion('users-value', 'latest')).version).toBe(1)
    expect(JSON.parse(await registry.schemaById(2))).toEqual(v2)
    expect(await codeOf(registry.deleteVersion('users-value', 2))).toBe(40406)
    // Registering it again makes a new version with the same id.
    expect(await registry.register('users-value', v2)).toEqual({ id: 2, version: 3 })
  })

  it('permanent delete needs a soft delete first', async () => {
    await registry.register('users-value', v1)
    await registry.register('users-value', v2)
    expect(await codeOf(registry.deleteVersion('users-value', 1, true))).toBe(40407)
    await registry.deleteVersion('users-value', 1)
    expect(await registry.deleteVersion('users-value', 1, true)).toBe(1)
    expect(await codeOf(registry.deleteVersion('users-value', 1, true))).toBe(40402)
    expect(await codeOf(registry.deleteSubject('users-value', true))).toBe(40405)
  })

  it('a subject: soft delete, then permanent; ids still resolve and versions restart', async () => {
    await registry.register('users-value', v1)
    await registry.register('users-value', v2)
    await registry.setCompatibility('NONE', 'users-value')
    expect(await registry.deleteSubject('users-value')).toEqual([1, 2])
    expect(await registry.listSubjects()).toEqual([])
    expect(await codeOf(registry.listVersions('users-value'))).toBe(40401)
    expect(await registry.subjectCompatibility('users-value')).toBeUndefined()
    expect(await codeOf(registry.deleteSubject('users-value'))).toBe(40404)
    expect(await registry.deleteSubject('users-value', true)).toEqual([1, 2])
    expect(await codeOf(registry.deleteSubject('users-value', true))).toBe(40401)
    expect(JSON.parse(await registry.schemaById(1))).toEqual(v1)
    expect(await registry.register('users-value', v2)).toEqual({ id: 2, version: 1 })
  })

  it('deletes survive a reopen', async () => {
    await registry.register('users-value', v1)
    await registry.register('users-value', v2)
    await registry.deleteVersion('users-value', 1)
    await registry.close()
    registry = await openEmbeddedRegistry({ dir })
    expect(await registry.listVersions('users-value')).toEqual([2])
  })
})

describe('durability and concurrency', () => {
  const journal = () => path.join(dir, 'registry.jsonl')

  const deadPid = async (): Promise<number> => {
    const dead = spawn(process.execPath, ['-e', '0'])
    await new Promise((resolve) => dead.on('exit', resolve))
    return dead.pid!
  }
  /** The lock a writer that died mid-append leaves behind. */
  const deadWritersLock = async (): Promise<void> => fs.writeFileSync(path.join(dir, 'registry.lock'), `${await deadPid()} ${os.hostname()} - gone`)

  it('cuts the torn last line of a writer that died holding the lock', async () => {
    await registry.register('users-value', v1)
    await registry.close()
    const good = fs.statSync(journal()).size
    fs.appendFileSync(journal(), '1234abcd {"op":"register","subj')
    await deadWritersLock()
    registry = await openEmbeddedRegistry({ dir })
    expect(fs.statSync(journal()).size).toBe(good + 31) // readers leave it: the next writer decides
    expect(await registry.register('users-value', v2)).toEqual({ id: 2, version: 2 })
    expect(fs.readFileSync(journal(), 'utf8')).not.toContain('"subj\n')
    expect(fs.existsSync(path.join(dir, 'registry.lock'))).toBe(false)
  })

  it('refuses an unterminated last line that no dying writer explains, changing nothing', async () => {
    await registry.register('users-value', v1)
    await registry.close()
    fs.appendFileSync(journal(), '1234abcd {"op":"register","subj')
    const before = fs.readFileSync(journal())
    await expect(openEmbeddedRegistry({ dir })).rejects.toMatchObject({ code: 'TRIB_REGISTRY_CORRUPT', message: expect.stringContaining(journal()) })
    await expect(openEmbeddedRegistry({ dir, readOnly: true })).rejects.toMatchObject({ code: 'TRIB_REGISTRY_CORRUPT' })
    expect(fs.readFileSync(journal()).equals(before)).toBe(true)
    registry = await openEmbeddedRegistry({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'trib-registry-')) })
  })

  it('never reuses the id of a complete but garbled last line (issue 10)', async () => {
    await registry.register('users-value', v1)
    const second = await registry.register('other-value', { type: 'string' })
    expect(second.id).toBe(2)
    await registry.close()
    // The last line ends in a newline: it was written whole, so its id 2 may be in use by records.
    const text = fs.readFileSync(journal(), 'utf8')
    const garbled = text.replace(/"schema":"\\"string\\""/, '"schema":"\\"strinG\\""')
    expect(garbled).not.toBe(text)
    fs.writeFileSync(journal(), garbled)
    await deadWritersLock() // even a dead writer's lock does not make a whole line torn
    for (const readOnly of [false, true]) {
      const e = await openEmbeddedRegistry({ dir, readOnly }).catch((err: unknown) => err)
      expect(e).toMatchObject({ code: 'TRIB_REGISTRY_CORRUPT', message: expect.stringContaining('line 3'), details: { file: journal(), line: 3 } })
    }
    expect(fs.readFileSync(journal(), 'utf8')).toBe(garbled)
    registry = await openEmbeddedRegistry({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'trib-registry-')) })
  })

  it('refuses a file whose committed line fails its checksum', async () => {
    await registry.register('users-value', v1)
    await registry.register('users-value', v2)
    await registry.close()
    const text = fs.readFileSync(journal(), 'utf8').replace('"version":1', '"version":7')
    fs.writeFileSync(journal(), text)
    await expect(openEmbeddedRegistry({ dir })).rejects.toMatchObject({ code: 'TRIB_REGISTRY_CORRUPT', message: expect.stringContaining('line 2') })
    registry = await openEmbeddedRegistry({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'trib-registry-')) })
  })

  it('takes back a registration whose write failed half way: no torn line stays behind a live writer', async () => {
    await registry.register('users-value', v1)
    const size = fs.statSync(journal()).size
    const real = fs.writeSync.bind(fs)
    let failed = false
    const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, ...rest: unknown[]) => {
      if (!failed && fs.fstatSync(fd).ino === fs.statSync(journal()).ino) {
        failed = true
        real(fd, buf, 0, 7, rest[2] as number)
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' })
      }
      return (real as (...a: unknown[]) => number)(fd, buf, ...rest)
    }) as typeof fs.writeSync)
    await expect(registry.register('users-value', v2)).rejects.toThrow(/EIO/)
    spy.mockRestore()
    expect(fs.statSync(journal()).size).toBe(size)
    expect(await registry.register('users-value', v2)).toEqual({ id: 2, version: 2 })
  })

  it('opened read-only, changes nothing and refuses changes', async () => {
    await registry.register('users-value', v1)
    const before = fs.readdirSync(dir).sort()
    const reader = await openEmbeddedRegistry({ dir, readOnly: true })
    expect(await reader.listSubjects()).toEqual(['users-value'])
    await expect(reader.register('users-value', v2)).rejects.toMatchObject({ code: 'TRIB_USAGE' })
    await reader.close()
    expect(fs.readdirSync(dir).sort()).toEqual(before)
    const nowhere = path.join(dir, 'not-there')
    const empty = await openEmbeddedRegistry({ dir: nowhere, readOnly: true })
    expect(await empty.listSubjects()).toEqual([])
    await empty.close()
    expect(fs.existsSync(nowhere)).toBe(false)
  })

  it('sees what another registry on the same folder registered', async () => {
    const other = await openEmbeddedRegistry({ dir })
    const { id } = await other.register('users-value', v1)
    expect(await registry.schemaById(id)).toBe(await other.schemaById(id))
    expect(await registry.listSubjects()).toEqual(['users-value'])
    await other.close()
  })

  it('breaks a stale lock left by a dead process, waits for a live one', async () => {
    const lock = path.join(dir, 'registry.lock')
    // The JSON lock of earlier releases is still understood.
    fs.writeFileSync(lock, JSON.stringify({ pid: await deadPid(), host: os.hostname(), token: 'x', at: Date.now() }))
    expect(await registry.register('users-value', v1)).toEqual({ id: 1, version: 1 })
    expect(fs.existsSync(lock)).toBe(false)

    fs.writeFileSync(lock, `${process.pid} ${os.hostname()} - live`)
    const impatient = await openEmbeddedRegistry({ dir, lockTimeoutMs: 100 })
    const e = await impatient.register('users-value', v2).catch((err: unknown) => err)
    expect(e).toMatchObject({ code: 'TRIB_REGISTRY_UNAVAILABLE', message: expect.stringContaining(`pid ${process.pid}`) })
    await impatient.close()
    fs.unlinkSync(lock)
  })

  it('two processes registering at once get no duplicate ids', async () => {
    const count = 15
    const child = (name: string) =>
      run(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures', 'register-many.ts'), dir, name, String(count)], {
        env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'silent' },
      })
    const [a, b] = await Promise.all([child('a'), child('b')])
    const results = [...JSON.parse(a.stdout), ...JSON.parse(b.stdout)] as Array<{ schema: string; subject: string; id: number; version: number }>
    const idsBySchema = new Map<string, Set<number>>()
    for (const r of results) idsBySchema.set(r.schema, (idsBySchema.get(r.schema) ?? new Set()).add(r.id))
    // Each schema has exactly one id, and no two schemas share one.
    for (const ids of idsBySchema.values()) expect(ids.size).toBe(1)
    const ids = [...idsBySchema.values()].map((s) => [...s][0] as number).sort((x, y) => x - y)
    expect(ids).toEqual(Array.from({ length: 3 * count }, (_, i) => i + 1))
    // The shared subjects got one version each.
    for (let i = 0; i < count; i++) expect(await registry.listVersions(`common-${i}`)).toEqual([1])
  })
})
