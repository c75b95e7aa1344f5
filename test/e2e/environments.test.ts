import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { tableId } from '../../runtime/lake/index.ts'
import type { OutgoingRecord } from '../../runtime/log/log.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { generateSampleData, usersTopic } from '../../products/sample-data/generate.ts'
import { linkPackage, productsDir, repoRoot, tempDir } from '../helpers/runtime.ts'

/**
 * Dev environments end to end: a changed user-profiles runs in environment alice and the
 * unchanged one in bob, on the same new input, each isolated from main and from the other; alice
 * merges into main (main continues from there, exactly once), bob is then refused (main moved),
 * and both are dropped without a trace.
 */
const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const dataDir = tempDir('trib-env-')
const work = tempDir('trib-env-products-')
const changed = path.join(work, 'user-profiles')
const env = { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn', TRIBUTARY_PRODUCTS: path.join(productsDir, 'user-profiles') }

const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, '--data-dir', dataDir, ...args], { cwd: repoRoot, encoding: 'utf8', env })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const ok = (args: string[]) => {
  const r = cli(args)
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
  return r.stdout
}
const run = (args: string[]) => JSON.parse(ok(['run', ...args, '--until-idle', '--format', 'json'])) as { products: Array<{ in: number; out: number; dlq: number; skipped: number }> }
const query = (sql: string, ...more: string[]) => JSON.parse(ok(['query', sql, '--format', 'json', ...more])) as Array<Record<string, unknown>>
const upper = 'SELECT count(*) AS rows, count(*) FILTER (WHERE display_name = upper(display_name) AND display_name <> lower(display_name)) AS upper FROM user_profiles.profiles'

let runtime: Runtime
let slices: OutgoingRecord[][]

beforeAll(async () => {
  runtime = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
  await runtime.log.ensureTopic(usersTopic, { partitions: 3 })
  const { records } = await generateSampleData(runtime.registry, { users: 600, plays: 0, invalid: false, seed: 11 })
  const users = records.filter((r) => r.topic === usersTopic)
  const third = Math.ceil(users.length / 3)
  slices = [users.slice(0, third), users.slice(third, 2 * third), users.slice(2 * third)]
  // The change a developer tries out: display names in capitals.
  fs.cpSync(path.join(productsDir, 'user-profiles'), changed, { recursive: true })
  fs.cpSync(path.join(repoRoot, 'schemas'), path.join(work, 'schemas'), { recursive: true })
  linkPackage(work)
  const transform = path.join(changed, 'transform.ts')
  fs.writeFileSync(transform, fs.readFileSync(transform, 'utf8').replace('display_name: u.full_name.trim(),', 'display_name: u.full_name.trim().toUpperCase(),'))
})

afterAll(async () => {
  await runtime.close()
  for (const d of [dataDir, work]) fs.rmSync(d, { recursive: true, force: true })
})

describe('dev environments', () => {
  it('run isolated from main and from each other, merge into main when audited, and drop', async () => {
    const { log, catalog } = runtime
    const ends = async (topic: string) => ((await log.describeTopic(topic))?.partitions ?? []).map((p) => p.end)
    const count = async (topic: string) => (await ends(topic)).reduce((a, b) => a + b, 0)
    const mainRef = async () => (await catalog.loadTable(tableId('user-profiles', 'profiles'))).metadata.refs.main?.['snapshot-id']

    await log.append(slices[0]!)
    const first = run([path.join(productsDir, 'user-profiles')]).products[0]!
    expect(first.in).toBe(slices[0]!.length)

    // New input arrives; two environments fork main as it is now.
    await log.append(slices[1]!)
    const before = { topic: await ends('user-profiles.profiles'), group: await log.groupOffsets('user-profiles'), table: await mainRef() }
    const alice = run([changed, '--env', 'alice']).products[0]!
    const bob = run([path.join(productsDir, 'user-profiles'), '--env', 'bob']).products[0]!
    // Each read only what main had not: the fork starts at main's offsets.
    expect(alice.in).toBe(slices[1]!.length)
    expect(bob.in).toBe(slices[1]!.length)

    // Main did not move, and each environment has its own topics and branches.
    expect(await ends('user-profiles.profiles')).toEqual(before.topic)
    expect(await log.groupOffsets('user-profiles')).toEqual(before.group)
    expect(await mainRef()).toBe(before.table)
    expect(await count('env.alice.user-profiles.profiles')).toBe(alice.out)
    expect(await count('env.bob.user-profiles.profiles')).toBe(bob.out)
    const refs = (await catalog.loadTable(tableId('user-profiles', 'profiles'))).metadata.refs
    expect(Object.keys(refs)).toEqual(expect.arrayContaining(['main', 'audit', 'env.alice', 'env.alice.audit', 'env.bob', 'env.bob.audit']))
    const [onMain] = query(upper)
    const [onAlice] = query(upper, '--env', 'alice')
    const [onBob] = query(upper, '--env', 'bob')
    expect(Number(onMain!.upper)).toBe(0)
    expect(Number(onBob!.upper)).toBe(0)
    expect(Number(onAlice!.upper)).toBeGreaterThan(0)

    // alice merges: main's topic gets her records, main's group her offsets, main's table her snapshot.
    const aliceOffsets = await log.groupOffsets('env.alice.user-profiles')
    expect(ok(['env', 'merge', 'alice'])).toMatch(new RegExp(`user-profiles: main is at environment alice: ${alice.out} records appended`))
    expect(await count('user-profiles.profiles')).toBe(before.topic.reduce((a, b) => a + b, 0) + alice.out)
    expect(await log.groupOffsets('user-profiles')).toEqual(aliceOffsets)
    expect(query(upper)).toEqual(query(upper, '--env', 'alice'))

    // bob forked the same main, which has moved: refused, nothing changed.
    const refused = cli(['env', 'merge', 'bob'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^error TRIB_ENV_STATE: environment bob cannot be merged into main: user-profiles moved since the fork/)
    expect(await log.groupOffsets('user-profiles')).toEqual(aliceOffsets)

    // Main continues from the merge, with its own code: the new input only, once.
    await log.append(slices[2]!)
    const after = run([path.join(productsDir, 'user-profiles')]).products[0]!
    expect(after.in).toBe(slices[2]!.length)
    expect(await count('user-profiles.profiles')).toBe(first.out + alice.out + after.out)
    const [final] = query('SELECT count(*) AS rows, count(DISTINCT user_id) AS users FROM user_profiles.profiles')
    expect(final!.rows).toBe(final!.users)

    // Dropped: topics, groups, state and branches gone; main untouched.
    for (const name of ['alice', 'bob']) expect(ok(['env', 'drop', name])).toMatch(new RegExp(`environment ${name} dropped`))
    expect((await log.listTopics()).map((t) => t.name).filter((t) => t.startsWith('env.'))).toEqual([])
    expect((await log.listGroups()).filter((g) => g.startsWith('env.'))).toEqual([])
    expect(fs.readdirSync(path.join(dataDir, 'state')).filter((d) => d.startsWith('env.'))).toEqual([])
    expect(Object.keys((await catalog.loadTable(tableId('user-profiles', 'profiles'))).metadata.refs).sort()).toEqual(['audit', 'main'])
    expect(ok(['env', 'list'])).toMatch(/\(none\)/)
    expect(await count('user-profiles.profiles')).toBe(first.out + alice.out + after.out)
  }, 300_000)
})
