import path from 'node:path'
import { TributaryError } from '../../errors.ts'
import { runCase, type CaseResult } from '../../testing/driver.ts'
import { readFixtures, TESTS_DIR } from '../../testing/fixtures.ts'
import type { CliContext } from '../context.ts'
import { print, printJson } from '../output.ts'

/** `tributary test [products…]`: every fixture case of every product, in memory; non-zero exit on a failure. */
export async function test(ctx: CliContext, refs: string[], opts: { format: string }): Promise<void> {
  ctx.quietLogs()
  const config = ctx.config()
  const products = ctx.products(refs)
  const results: CaseResult[] = []
  const without: string[] = []
  for (const product of products) {
    const fixtures = readFixtures(product)
    if (fixtures.length === 0) without.push(product.name)
    for (const fixture of fixtures) {
      const result = await runCase(product, fixture, { piiSalt: config.pii.salt, schemaDirs: config.schemaDirs })
      results.push(result)
      if (opts.format !== 'json') report(result)
    }
  }
  const failed = results.filter((r) => !r.passed)
  if (opts.format === 'json') printJson({ results, withoutCases: without })
  else {
    for (const name of without) print(`-    ${name}: no test cases (${path.join(TESTS_DIR, '<case>')}/ beside product.yaml)`)
    print(`\n${results.length} cases, ${results.length - failed.length} passed, ${failed.length} failed`)
  }
  if (results.length === 0) throw new TributaryError('TRIB_TEST_FAILED', `no test cases in ${products.map((p) => p.name).join(', ') || 'any product'}`)
  if (failed.length > 0)
    throw new TributaryError('TRIB_TEST_FAILED', `${failed.length} of ${results.length} cases failed: ${failed.map((f) => `${f.product}/${f.case}`).join(', ')}`)
}

function report(r: CaseResult): void {
  const counts = `${r.inputs} in, ${r.outputs} out, ${r.deadLetters} dead letters`
  print(`${r.passed ? 'ok  ' : 'FAIL'} ${r.product}/${r.case} (${counts})`)
  for (const p of r.problems) print(`       ${p.replace(/\n/g, '\n       ')}`)
}
