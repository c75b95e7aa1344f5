import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../errors.ts'
import { specFileNames } from '../spec/load.ts'
import { checkSharedTopics, loadProduct, type LoadOptions, type Product } from './load.ts'

/**
 * Resolves product references (a product folder, a folder of product folders, or a product name
 * found in the configured folders) and orders products so that every producer of a topic comes
 * before its consumers.
 */
export function loadMesh(refs: readonly string[], searchDirs: readonly string[], options: LoadOptions = {}): Product[] {
  const products = resolveProductDirs(refs, searchDirs).map((d) => loadProduct(d, options))
  checkMesh(products)
  return topologicalOrder(products)
}

/** What products refuse together: two with one name, two writing one topic differently. */
export function checkMesh(products: readonly Product[]): void {
  const names = new Set<string>()
  for (const p of products) {
    if (names.has(p.name)) throw new TributaryError('TRIB_SPEC_INVALID', `two products are named ${p.name} (${p.specFile})`)
    names.add(p.name)
  }
  checkSharedTopics(products.flatMap((p) => p.outputs.map((o) => ({ ...o, product: p.name, where: `${p.specFile} (port ${o.spec.name})` }))))
}

/**
 * Product folders for the references, or every product in the search folders when there are none;
 * a product repository (product.yaml in the working folder) is its own product when those hold none.
 */
export function resolveProductDirs(refs: readonly string[], searchDirs: readonly string[]): string[] {
  let dirs = refs.length > 0 ? refs.flatMap((r) => resolveRef(r, searchDirs)) : searchDirs.flatMap(productDirsIn)
  if (refs.length === 0 && dirs.length === 0 && isProductDir(process.cwd())) dirs = [process.cwd()]
  return [...new Set(dirs.map((d) => path.resolve(d)))]
}

const isProductDir = (dir: string): boolean => specFileNames.some((n) => fs.existsSync(path.join(dir, n)))

function productDirsIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  if (isProductDir(dir)) return [dir]
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isProductDir(path.join(dir, e.name)))
    .map((e) => path.join(dir, e.name))
    .sort()
}

function resolveRef(ref: string, searchDirs: readonly string[]): string[] {
  if (fs.existsSync(ref) && fs.statSync(ref).isDirectory()) {
    const found = productDirsIn(ref)
    if (found.length === 0) throw new TributaryError('TRIB_SPEC_NOT_FOUND', `no product.yaml in ${ref} or its subfolders`, { details: { dir: ref } })
    return found
  }
  for (const dir of searchDirs) {
    const candidate = path.join(dir, ref)
    if (isProductDir(candidate)) return [candidate]
  }
  const known = searchDirs.flatMap(productDirsIn).map((d) => path.basename(d))
  throw new TributaryError('TRIB_PRODUCT_NOT_FOUND', `no product named ${ref} (known: ${known.join(', ') || 'none'})`, { details: { ref } })
}

/** Producers before consumers; a cycle keeps the given order for its members. */
export function topologicalOrder(products: Product[]): Product[] {
  const producerOf = new Map<string, Product>()
  for (const p of products) for (const o of p.outputs) producerOf.set(o.spec.topic, p)
  const ordered: Product[] = []
  const state = new Map<Product, 'visiting' | 'done'>()
  const visit = (p: Product) => {
    if (state.get(p)) return
    state.set(p, 'visiting')
    for (const i of p.inputs) {
      const upstream = producerOf.get(i.spec.topic)
      if (upstream && upstream !== p) visit(upstream)
    }
    state.set(p, 'done')
    ordered.push(p)
  }
  products.forEach(visit)
  return ordered
}

/** Port-to-port edges across the mesh: which output feeds which input. */
export interface LineageEdge {
  from: { product: string; port: string; topic: string }
  to: { product: string; port: string }
}

export function lineage(products: readonly Product[]): LineageEdge[] {
  const edges: LineageEdge[] = []
  for (const consumer of products)
    for (const input of consumer.inputs)
      for (const producer of products)
        for (const output of producer.outputs)
          if (output.spec.topic === input.spec.topic)
            edges.push({
              from: { product: producer.name, port: output.spec.name, topic: output.spec.topic },
              to: { product: consumer.name, port: input.spec.name },
            })
  return edges
}
