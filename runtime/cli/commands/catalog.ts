import type { Command } from 'commander'
import { describeProduct } from '../../discovery/describe.ts'
import { lineageDot, lineageMermaid } from '../../discovery/lineage.ts'
import { searchCatalog } from '../../discovery/search.ts'
import { TributaryError } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print, printJson, table } from '../output.ts'

export function registerCatalog(program: Command, ctx: CliContext): void {
  program
    .command('catalog')
    .description('the mesh catalog: every product with its ports; `catalog search <text>` searches names, descriptions, fields and tags')
    .argument('[search]', 'the word "search"')
    .argument('[text...]', 'what to search for')
    .option('--format <format>', 'text or json', 'text')
    .action(async (verb: string | undefined, words: string[], opts: { format: string }) => {
      const products = ctx.products([])
      if (verb !== undefined && verb !== 'search') throw new TributaryError('TRIB_USAGE', `unknown catalog command ${JSON.stringify(verb)}: use \`catalog\` or \`catalog search <text>\``)
      if (verb === 'search') {
        if (words.length === 0) throw new TributaryError('TRIB_USAGE', 'catalog search needs some text to look for')
        const hits = searchCatalog(products, words.join(' '))
        if (opts.format === 'json') printJson(hits)
        else print(table(hits.map((h) => ({ product: h.product, where: h.where, text: h.text.length > 70 ? `${h.text.slice(0, 67)}...` : h.text }))))
        return
      }
      const runtime = await ctx.runtime()
      const described = await Promise.all(products.map((p) => describeProduct(p, products, { catalog: runtime.catalog })))
      if (opts.format === 'json') {
        printJson(described)
        return
      }
      print(
        table(
          described.map((d) => ({
            product: d.name,
            domain: d.domain,
            owner: d.owner.team,
            inputs: d.inputPorts.map((p) => p.topic).join(', '),
            outputs: d.outputPorts.map((p) => p.topic).join(', '),
            tables: d.tables.flatMap((t) => (t.error ? [`${t.table} (unreadable: ${t.error.code})`] : t.snapshotId !== null ? [`${t.table} (${t.rows})`] : [])).join(', ') || '-',
          })),
        ),
      )
    })

  program
    .command('lineage')
    .description('draw the port-to-port graph of the mesh')
    .option('--format <format>', 'mermaid or dot', 'mermaid')
    .action((opts: { format: string }) => {
      const products = ctx.products([])
      if (opts.format !== 'mermaid' && opts.format !== 'dot') throw new TributaryError('TRIB_USAGE', `--format ${opts.format}: expected mermaid or dot`)
      print(opts.format === 'dot' ? lineageDot(products) : lineageMermaid(products))
    })
}
