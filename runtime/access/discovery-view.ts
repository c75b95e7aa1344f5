import type { ProductDescription } from '../discovery/describe.ts'

type Port = ProductDescription['outputPorts'][number]

/** An output port as discovery shows it to a reader who may not read it: identity only. */
export type RestrictedPort = Omit<Port, 'schema' | 'contract' | 'policies' | 'snapshot' | 'table'> & {
  schema: null
  contract: null
  policies: null
  snapshot: null
  table: null
  restricted: true
}

export type DiscoveredDescription = Omit<ProductDescription, 'outputPorts'> & { outputPorts: Array<Port | RestrictedPort> }

/**
 * A product's description for one reader: ports it may not read keep their name, description,
 * topic, key and lineage, and lose their detail (schemas, contract, policies, snapshot and table
 * figures), as do the dead-letter table and the tables of those ports.
 */
export function forReader(d: ProductDescription, canRead: (port: string) => boolean): DiscoveredDescription {
  const hidden = new Set(d.outputPorts.filter((p) => !canRead(p.name)).map((p) => `${d.name}.${p.name}`))
  if (!canRead('dlq')) hidden.add(`${d.name}.dlq`)
  if (hidden.size === 0) return d
  return {
    ...d,
    outputPorts: d.outputPorts.map((p): Port | RestrictedPort =>
      hidden.has(`${d.name}.${p.name}`) ? { ...p, schema: null, contract: null, policies: null, snapshot: null, table: null, restricted: true } : p,
    ),
    deadLetters: hidden.has(`${d.name}.dlq`) ? { ...d.deadLetters, table: null } : d.deadLetters,
    tables: d.tables.filter((t) => !hidden.has(t.table)),
  }
}
