import type { DiscoveredDescription } from '../access/discovery-view.ts'

/**
 * The product in the shape of the Open Data Product Standard (Bitol ODPS v1.0.0): identity,
 * description, input and output ports (each output port's data contract named after its
 * table), the management ports this container serves, team and support.
 */
export function toOdps(d: DiscoveredDescription, baseUrl = '') {
  const contract = (port: string) => `${d.name}.${port}`
  return {
    apiVersion: 'v1.0.0',
    kind: 'DataProduct',
    id: `urn:tributary:${d.domain}:${d.name}`,
    name: d.name,
    version: d.version,
    status: 'active',
    domain: d.domain,
    description: { purpose: d.description, usage: `Subscribe to the output topics, or query the tables: ${d.outputPorts.map((p) => contract(p.name)).join(', ')}.` },
    tags: d.tags,
    inputPorts: d.inputPorts.map((p) => ({
      name: p.name,
      version: d.version,
      contractId: p.upstream[0] ? `${p.upstream[0].product}.${p.upstream[0].port}` : p.topic,
      customProperties: [
        { property: 'topic', value: p.topic },
        { property: 'mode', value: p.mode },
      ],
    })),
    outputPorts: d.outputPorts.map((p) => ({
      name: p.name,
      version: d.version,
      description: p.description ?? undefined,
      type: 'restricted' in p ? undefined : p.snapshot ? 'tables' : 'topic',
      contractId: contract(p.name),
      tags: p.tags,
      customProperties: [
        { property: 'topic', value: p.topic },
        ...(p.schema ? [{ property: 'schema', value: p.schema.name }] : []),
        ...(p.table ? [{ property: 'table', value: p.table.table }] : []),
      ],
    })),
    managementPorts: [
      { name: 'discovery', content: 'discoverability', type: 'rest', url: `${baseUrl}/products/${d.name}`, description: 'ports, schemas, SLOs, lineage, latest snapshots' },
      { name: 'metrics', content: 'observability', type: 'rest', url: `${baseUrl}/metrics`, description: 'Prometheus metrics' },
      { name: 'policies', content: 'control', type: 'rest', url: `${baseUrl}/products/${d.name}/policies`, description: 'PII policies per output port (changes need a principal with control)' },
    ],
    team: { name: d.owner.team, members: d.owner.email ? [{ username: d.owner.email, role: 'owner' }] : [] },
    support: d.owner.email ? [{ channel: 'email', url: `mailto:${d.owner.email}` }] : [],
    customProperties: Object.entries(d.slos).map(([slo, s]) => ({ property: `slo.${slo}`, value: String(s.target) })),
  }
}
