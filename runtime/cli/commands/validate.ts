import path from 'node:path'
import { TributaryError, messageOf } from '../../errors.ts'
import { loadProduct, loadTransform, type Product } from '../../product/load.ts'
import { checkMesh, resolveProductDirs } from '../../product/mesh.ts'
import { formatIssue, type SpecIssue } from '../../spec/load.ts'
import type { CliContext } from '../context.ts'
import { print, printJson } from '../output.ts'

export async function validate(ctx: CliContext, refs: string[], opts: { format: string }): Promise<void> {
  const config = ctx.config()
  const dirs = resolveProductDirs(refs, config.products.map((p) => path.resolve(p)))
  const results = []
  const loaded: Product[] = []
  const problemsOf = (e: unknown): string[] => {
    const issues = e instanceof TributaryError ? (e.details.issues as SpecIssue[] | undefined) : undefined
    return issues ? issues.map(formatIssue) : [`${e instanceof TributaryError ? `${e.code}: ` : ''}${messageOf(e)}`]
  }
  for (const dir of dirs) {
    try {
      const product = loadProduct(dir, { schemaDirs: config.schemaDirs })
      await loadTransform(product)
      loaded.push(product)
      results.push({ product: product.name, file: path.relative(process.cwd(), product.specFile), ok: true, problems: [] as string[] })
    } catch (e) {
      results.push({ product: path.basename(dir), file: path.relative(process.cwd(), dir), ok: false, problems: problemsOf(e) })
    }
  }
  // What run refuses across products (one name twice, one topic written two ways).
  try {
    checkMesh(loaded)
  } catch (e) {
    results.push({ product: '(mesh)', file: path.relative(process.cwd(), process.cwd()) || '.', ok: false, problems: problemsOf(e) })
  }
  if (opts.format === 'json') printJson(results)
  else
    for (const r of results) {
      print(`${r.ok ? 'ok     ' : 'invalid'} ${r.product}  (${r.file})`)
      for (const p of r.problems) print(`        ${p}`)
    }
  const failed = results.filter((r) => !r.ok).length
  if (failed > 0) throw new TributaryError('TRIB_SPEC_INVALID', `${failed} of ${results.length} products are invalid`)
}
