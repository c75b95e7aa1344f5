import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadProduct } from '../../../runtime/product/load.ts'
import { runCase } from '../../../runtime/testing/driver.ts'
import { readFixtures } from '../../../runtime/testing/fixtures.ts'
import { failure, linkPackage, productsDir, repoRoot, tempDir } from '../../helpers/runtime.ts'

const options = { piiSalt: 'test-salt' }
const temps: string[] = []
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

/** A copy of an example product (beside a copy of the schemas), whose fixtures a test may break. */
function copyOf(name: string): string {
  const root = tempDir('trib-driver-')
  temps.push(root)
  fs.cpSync(path.join(repoRoot, 'schemas'), path.join(root, 'schemas'), { recursive: true })
  fs.cpSync(path.join(productsDir, name), path.join(root, name), { recursive: true })
  // transform.ts imports the package by name: resolve it from the copy too.
  linkPackage(root)
  return path.join(root, name)
}

const edit = (file: string, from: string | RegExp, to: string) => {
  const text = fs.readFileSync(file, 'utf8')
  const next = text.replace(from, to)
  expect(next, `${file} has ${String(from)}`).not.toBe(text)
  fs.writeFileSync(file, next)
}

async function runAll(dir: string) {
  const product = loadProduct(dir)
  return Promise.all(readFixtures(product).map((f) => runCase(product, f, options)))
}

describe('tributary test: the in-memory driver', () => {
  it('passes the example products against their fixtures, with nothing on disk', async () => {
    for (const name of ['user-profiles', 'podcast-listeners', 'top-podcasts']) {
      const results = await runAll(path.join(productsDir, name))
      expect(results.length, name).toBeGreaterThan(0)
      for (const r of results) expect(r.problems, `${name}/${r.case}`).toEqual([])
    }
    expect(fs.existsSync(path.join(productsDir, 'user-profiles', '.tributary'))).toBe(false)
  })

  it('names the output, the record and the field that differ, with both sides', async () => {
    const dir = copyOf('user-profiles')
    edit(path.join(dir, 'tests/changes/expected/profiles.jsonl'), '"city": "Cambridge", "plan": "premium"', '"city": "Cambridge", "plan": "free"')
    const [r] = await runAll(dir)
    expect(r!.passed).toBe(false)
    expect(r!.problems).toHaveLength(1)
    expect(r!.problems[0]).toMatch(/^profiles #3 differs at value\.plan: expected "free", got "premium"\n {4}expected \{"key":1,"value":\{"user_id":1,.*\n {4}actual {3}\{"key":1,/)
  })

  it('carries an int64 beyond 2^53 exactly through the memory log, the outputs and the table, and tells it from its neighbour', async () => {
    const dir = copyOf('user-profiles')
    const tests = path.join(dir, 'tests/changes')
    const big = '9007199254740993' // 2^53 + 1: a double would read it as 2^53
    for (const file of ['input/users.jsonl', 'expected/profiles.jsonl', 'expected/snapshot/profiles.jsonl']) {
      const text = fs.readFileSync(path.join(tests, file), 'utf8')
      const next = text.replaceAll('{"id": 2}', `{"id": ${big}}`).replaceAll('"id": 2,', `"id": ${big},`).replaceAll('"key": 2,', `"key": ${big},`).replaceAll('"user_id": 2,', `"user_id": ${big},`)
      fs.writeFileSync(path.join(tests, file), next)
    }
    expect(fs.readFileSync(path.join(tests, 'expected/profiles.jsonl'), 'utf8')).toContain(big)
    const [r] = await runAll(dir)
    expect(r!.problems).toEqual([])
    // One less in the expectation is a difference, shown with every digit.
    edit(path.join(tests, 'expected/profiles.jsonl'), `"user_id": ${big},`, '"user_id": 9007199254740992,')
    const [again] = await runAll(dir)
    expect(again!.problems[0]).toMatch(/^profiles #2 differs at value\.user_id: expected 9007199254740992, got 9007199254740993\n/)
  })

  it('reports missing and unexpected records, dead letters and table rows', async () => {
    const dir = copyOf('podcast-listeners')
    const tests = path.join(dir, 'tests/join')
    // One play fewer in the expectations, a dead letter with another code, a table row changed.
    const out = path.join(tests, 'expected/demographics.jsonl')
    fs.writeFileSync(out, fs.readFileSync(out, 'utf8').split('\n')[0] + '\n')
    edit(path.join(tests, 'expected/dlq.jsonl'), 'TRIB_DECODE_JSON', 'TRIB_DECODE_AVRO')
    edit(path.join(tests, 'expected/snapshot/demographics.jsonl'), '"duration_seconds": 60', '"duration_seconds": 61')
    const [r] = await runAll(dir)
    expect(r!.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^demographics #2 not expected: got \{"key":"pod-002","value":\{"play_id":"00000000-0000-4000-8000-000000000002"/),
        'demographics: expected 1 records, got 2',
        'dead letter #2 differs at code: expected "TRIB_DECODE_AVRO", got "TRIB_DECODE_JSON"\n    expected {"port":"plays","code":"TRIB_DECODE_AVRO","stage":"decode","offset":3}\n    actual   {"port":"plays","code":"TRIB_DECODE_JSON","stage":"decode","offset":3}',
        expect.stringMatching(/^table podcast-listeners\.demographics: missing row \{.*"duration_seconds":61/),
        expect.stringMatching(/^table podcast-listeners\.demographics: unexpected row \{.*"duration_seconds":60/),
      ]),
    )
  })

  it('refuses a fixture that names an unknown port or is not JSON, naming the file and line', async () => {
    const dir = copyOf('top-podcasts')
    fs.writeFileSync(path.join(dir, 'tests/daily-totals/expected/weekly.jsonl'), '{}\n')
    const unknown = await failure(Promise.resolve().then(() => readFixtures(loadProduct(dir))))
    expect(unknown.code).toBe('TRIB_TEST_FIXTURE')
    expect(unknown.message).toMatch(/weekly\.jsonl: top-podcasts has no output port weekly/)
    fs.rmSync(path.join(dir, 'tests/daily-totals/expected/weekly.jsonl'))
    fs.appendFileSync(path.join(dir, 'tests/daily-totals/input/demographics.jsonl'), '{"value": \n')
    const broken = await failure(Promise.resolve().then(() => readFixtures(loadProduct(dir))))
    expect(broken.message).toMatch(/demographics\.jsonl:6: not valid JSON/)
  })
})
