import http from 'node:http'
import { AccessControl } from '../../access/access.ts'
import { listen } from '../../http/server.ts'
import { createCatalogHttpHandler } from '../../lake/catalog/rest/server.ts'
import { describeProduct } from '../../discovery/describe.ts'
import { lineageDot, lineageMermaid } from '../../discovery/lineage.ts'
import { searchCatalog } from '../../discovery/search.ts'
import { TributaryError } from '../../errors.ts'
import { majorsOf, readVersionBook, servedProduct } from '../../lifecycle/book.ts'
import type { CliContext } from '../context.ts'
import { print, printJson, table } from '../output.ts'

export async function catalog(ctx: CliContext, verb: string | undefined, words: string[], opts: { format: string; port: number; host: string }): Promise<void> {
  if (verb === 'serve') return serveCatalog(ctx, words, opts)
  const products = ctx.products([])
  if (verb !== undefined && verb !== 'search') throw new TributaryError('TRIB_USAGE', `unknown catalog command ${JSON.stringify(verb)}: use \`catalog\`, \`catalog search <text>\` or \`catalog serve\``)
  if (verb === 'search') {
    if (words.length === 0) throw new TributaryError('TRIB_USAGE', 'catalog search needs some text to look for')
    const hits = searchCatalog(products, words.join(' '))
    if (opts.format === 'json') printJson(hits)
    else print(table(hits.map((h) => ({ product: h.product, where: h.where, text: h.text.length > 70 ? `${h.text.slice(0, 67)}...` : h.text }))))
    return
  }
  const runtime = await ctx.runtime('read')
  // One entry per product, under its plain name: the major it serves, with every major beside it.
  const book = await readVersionBook(runtime.log)
  const served = [...new Set(products.map((p) => p.base))].flatMap((base) => servedProduct(book, products, base) ?? [])
  const described = await Promise.all(
    served.map(async (p) => ({ ...(await describeProduct(p, products, { catalog: runtime.catalog })), major: p.major, versions: majorsOf(book, products, p.base) })),
  )
  if (opts.format === 'json') {
    printJson(described)
    return
  }
  print(
    table(
      described.map((d) => ({
        product: d.name,
        versions: d.versions.map((v) => `v${v.major}${v.status === 'running' ? '' : ` (${v.status})`}`).join(', '),
        domain: d.domain,
        owner: d.owner.team,
        inputs: d.inputPorts.map((p) => p.topic).join(', '),
        outputs: d.outputPorts.map((p) => p.topic).join(', '),
        tables: d.tables.flatMap((t) => (t.error ? [`${t.table} (unreadable: ${t.error.code})`] : t.snapshotId !== null ? [`${t.table} (${t.rows})`] : [])).join(', ') || '-',
      })),
    ),
  )
}

export function lineage(ctx: CliContext, opts: { format: string }): void {
  const products = ctx.products([])
  if (opts.format !== 'mermaid' && opts.format !== 'dot') throw new TributaryError('TRIB_USAGE', `--format ${opts.format}: expected mermaid or dot`)
  print(opts.format === 'dot' ? lineageDot(products) : lineageMermaid(products))
}

/** The lake's tables (of the given or all configured products) over the Iceberg REST protocol, until SIGINT or SIGTERM. */
async function serveCatalog(ctx: CliContext, refs: string[], opts: { port: number; host: string }): Promise<void> {
  const config = ctx.config()
  const products = ctx.products(refs)
  // Secrets are read before anything opens, so a missing one fails at once.
  const access = AccessControl.fromConfig(config, products)
  const runtime = await ctx.runtime()
  const handler = createCatalogHttpHandler({ catalog: runtime.catalog, products, access, s3: config.lake.s3, maxBodyBytes: config.http.maxBodyBytes })
  const server = http.createServer(handler)
  const bound = await listen(server, opts.port, opts.host)
  print(`Iceberg REST catalog of ${products.map((p) => p.name).join(', ') || 'no product'} at ${bound.url}/iceberg (Ctrl-C to stop)`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
