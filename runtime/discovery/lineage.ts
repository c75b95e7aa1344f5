import { lineage } from '../product/mesh.ts'
import type { Product } from '../product/load.ts'

/**
 * The mesh's port-to-port graph: source topics nobody in the mesh produces, each product with its
 * input and output ports, the flow inside a product (inputs → outputs) and across products (an
 * output port feeding another product's input port).
 */
interface Graph {
  sources: string[]
  products: Array<{ name: string; inputs: string[]; outputs: string[] }>
  edges: Array<{ from: string; to: string; kind: 'topic' | 'port' | 'inside' }>
}

const id = (...parts: string[]) => parts.join('__').replace(/[^A-Za-z0-9_]/g, '_')

function graph(products: readonly Product[]): Graph {
  const produced = new Set(products.flatMap((p) => p.outputs.map((o) => o.spec.topic)))
  const sources = [...new Set(products.flatMap((p) => p.inputs.map((i) => i.spec.topic)).filter((t) => !produced.has(t)))].sort()
  const edges: Graph['edges'] = []
  for (const p of products) {
    for (const i of p.inputs) {
      if (sources.includes(i.spec.topic)) edges.push({ from: id('topic', i.spec.topic), to: id(p.name, 'in', i.spec.name), kind: 'topic' })
      for (const o of p.outputs) edges.push({ from: id(p.name, 'in', i.spec.name), to: id(p.name, 'out', o.spec.name), kind: 'inside' })
    }
  }
  for (const e of lineage(products)) edges.push({ from: id(e.from.product, 'out', e.from.port), to: id(e.to.product, 'in', e.to.port), kind: 'port' })
  return { sources, products: products.map((p) => ({ name: p.name, inputs: p.inputs.map((i) => i.spec.name), outputs: p.outputs.map((o) => o.spec.name) })), edges }
}

export function lineageMermaid(products: readonly Product[]): string {
  const g = graph(products)
  const lines = ['flowchart LR']
  for (const t of g.sources) lines.push(`  ${id('topic', t)}[("${t}")]`)
  for (const p of g.products) {
    lines.push(`  subgraph ${id(p.name)}["${p.name}"]`)
    for (const i of p.inputs) lines.push(`    ${id(p.name, 'in', i)}(["${i}"])`)
    for (const o of p.outputs) lines.push(`    ${id(p.name, 'out', o)}[["${o}"]]`)
    lines.push('  end')
  }
  for (const e of g.edges) lines.push(`  ${e.from} ${e.kind === 'inside' ? '-.->' : '-->'} ${e.to}`)
  return lines.join('\n')
}

export function lineageDot(products: readonly Product[]): string {
  const g = graph(products)
  const lines = ['digraph mesh {', '  rankdir=LR;', '  node [fontname="Helvetica"];']
  for (const t of g.sources) lines.push(`  ${id('topic', t)} [label="${t}", shape=cylinder];`)
  for (const p of g.products) {
    lines.push(`  subgraph cluster_${id(p.name)} {`, `    label="${p.name}";`)
    for (const i of p.inputs) lines.push(`    ${id(p.name, 'in', i)} [label="${i}", shape=invhouse];`)
    for (const o of p.outputs) lines.push(`    ${id(p.name, 'out', o)} [label="${o}", shape=house];`)
    lines.push('  }')
  }
  for (const e of g.edges) lines.push(`  ${e.from} -> ${e.to}${e.kind === 'inside' ? ' [style=dashed]' : ''};`)
  lines.push('}')
  return lines.join('\n')
}
