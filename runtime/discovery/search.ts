import type { Product } from '../product/load.ts'
import { recordFields } from '../spec/fields.ts'

export interface CatalogHit {
  product: string
  /** Where the text matched: the product, a port, a field of a port's schema, a tag. */
  where: string
  text: string
}

/** Case-insensitive search over names, descriptions, schema fields (with their docs) and tags. */
export function searchCatalog(products: readonly Product[], text: string): CatalogHit[] {
  const needle = text.toLowerCase()
  const hits: CatalogHit[] = []
  const check = (product: string, where: string, value: string | undefined) => {
    if (value && value.toLowerCase().includes(needle)) hits.push({ product, where, text: value.trim().replace(/\s+/g, ' ') })
  }
  for (const p of products) {
    check(p.name, 'name', p.name)
    check(p.name, 'description', p.spec.description)
    check(p.name, 'domain', p.spec.domain)
    for (const tag of p.spec.tags) check(p.name, 'tag', tag)
    const ports = [
      ...p.inputs.map((i) => ({ kind: 'input', name: i.spec.name, description: i.spec.description, topic: i.spec.topic, schema: i.schema?.schema, tags: [] as string[] })),
      ...p.outputs.map((o) => ({ kind: 'output', name: o.spec.name, description: o.spec.description, topic: o.spec.topic, schema: o.schema.schema, tags: o.spec.tags })),
    ]
    for (const port of ports) {
      const at = `${port.kind} port ${port.name}`
      check(p.name, at, port.name)
      check(p.name, at, port.description)
      check(p.name, `${at} topic`, port.topic)
      for (const tag of port.tags) check(p.name, `${at} tag`, tag)
      for (const f of port.schema ? recordFields(port.schema as never) : []) {
        check(p.name, `${at} field`, f.name)
        check(p.name, `${at} field ${f.name}`, f.doc)
      }
    }
  }
  return hits
}
