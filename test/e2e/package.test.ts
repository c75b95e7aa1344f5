import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, tempDir } from '../helpers/runtime.ts'

/**
 * The package as a user gets it: `npm pack` of this repository, installed from the tarball into a
 * product created by `tributary init` in a folder outside the repository. Dependencies come from
 * npm's cache when the repository's own install put them there (--prefer-offline).
 */
const work = tempDir('trib-package-')
const product = path.join(work, 'shop-orders')
let tarball = ''

const npm = (args: string[], cwd: string) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const tributary = (args: string[]) => {
  const r = spawnSync(path.join(product, 'node_modules/.bin/tributary'), args, { cwd: product, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

beforeAll(() => {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8' })) as Array<{ filename: string; files: Array<{ path: string }> }>
  tarball = path.join(work, packed[0]!.filename)
  const files = packed[0]!.files.map((f) => f.path)
  // What a product needs is in it; the tests and local state are not.
  expect(files).toEqual(expect.arrayContaining(['runtime/index.ts', 'runtime/cli/bin.js', 'package.json', 'README.md']))
  expect(files.filter((f) => f.startsWith('test/') || f.startsWith('.tributary') || f.startsWith('node_modules/'))).toEqual([])
  const init = spawnSync(process.execPath, [path.join(repoRoot, 'runtime/cli/bin.js'), 'init', product, '--domain', 'shop', '--package', `file:${tarball}`], { encoding: 'utf8' })
  expect(init.stderr).toBe('')
  expect(init.status).toBe(0)
  npm(['install'], product)
}, 300_000)
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

describe('the published package, in a product of its own', () => {
  it('installs the tributary command with its version', () => {
    const r = tributary(['--version'])
    expect(r.stdout.trim()).toBe((JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version)
    // The product imports the package by name, not by a path into a clone.
    expect(fs.readFileSync(path.join(product, 'transform.ts'), 'utf8')).toMatch(/from 'tributary-runtime'/)
    expect(fs.realpathSync(path.join(product, 'node_modules/tributary-runtime'))).not.toContain(repoRoot)
  })

  it('validates, passes its fixture test, and type-checks with the generated record types', () => {
    const validate = tributary(['validate', '.'])
    expect(validate.stdout).toMatch(/^ok\s+shop-orders/)
    expect(validate.code).toBe(0)
    const test = tributary(['test'])
    expect(test.stdout).toMatch(/ok {3}shop-orders\/basic \(4 in, 3 out, 1 dead letters\)/)
    expect(test.code).toBe(0)
    expect(fs.existsSync(path.join(product, '.tributary')), 'tributary test writes nothing').toBe(false)
    const tsc = spawnSync(path.join(product, 'node_modules/.bin/tsc'), ['--noEmit'], { cwd: product, encoding: 'utf8' })
    expect(tsc.stdout + tsc.stderr).toBe('')
    expect(tsc.status).toBe(0)
  })

  it('fails its test, with a diff, when the transform changes', () => {
    const file = path.join(product, 'transform.ts')
    const original = fs.readFileSync(file, 'utf8')
    try {
      fs.writeFileSync(file, original.replace('before.cents + order.amount_cents', 'before.cents + order.amount_cents + 1'))
      const r = tributary(['test'])
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/FAIL shop-orders\/basic/)
      expect(r.stdout).toMatch(/totals #1 differs at value\.total_cents: expected 1250, got 1251/)
      expect(r.stderr).toMatch(/^error TRIB_TEST_FAILED: 1 of 1 cases failed: shop-orders\/basic/)
    } finally {
      fs.writeFileSync(file, original)
    }
  })

  it('runs on its inputs and is queried', () => {
    const orders = path.join(product, 'orders.jsonl')
    fs.writeFileSync(
      orders,
      [
        { order_id: 'o-1', customer_id: 'c-1', amount_cents: 990, placed_at: '2026-01-05T10:00:00Z' },
        { order_id: 'o-2', customer_id: 'c-1', amount_cents: 10, placed_at: '2026-01-05T11:00:00Z' },
        { order_id: 'o-3', customer_id: 'c-9', amount_cents: 5, placed_at: '2026-01-05T12:00:00Z' },
      ]
        .map((o) => JSON.stringify(o))
        .join('\n'),
    )
    expect(tributary(['produce', 'shop.orders', '--file', orders, '--key-field', 'customer_id']).code).toBe(0)
    const run = tributary(['run', '--until-idle', '--format', 'json'])
    expect(run.code).toBe(0)
    expect((JSON.parse(run.stdout) as { products: Array<{ in: number; out: number }> }).products).toEqual([expect.objectContaining({ product: 'shop-orders', in: 3, out: 3, dlq: 0 })])
    const query = tributary(['query', 'SELECT customer_id, orders, total_cents FROM shop_orders.totals ORDER BY customer_id', '--format', 'json'])
    expect(query.code).toBe(0)
    expect(JSON.parse(query.stdout)).toEqual([
      { customer_id: 'c-1', orders: 2, total_cents: 1000 },
      { customer_id: 'c-9', orders: 1, total_cents: 5 },
    ])
  })
})

describe('the lock file', () => {
  it('is what a fresh npm install writes: installing leaves it unchanged', () => {
    const dir = tempDir('trib-lock-')
    try {
      for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(repoRoot, f), path.join(dir, f))
      npm(['install', '--package-lock-only', '--ignore-scripts'], dir)
      expect(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8')).toBe(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8'))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
