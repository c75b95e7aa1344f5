import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { avroToJsonSchema } from '../../../runtime/discovery/json-schema.ts'
import { lineageDot, lineageMermaid } from '../../../runtime/discovery/lineage.ts'
import { searchCatalog } from '../../../runtime/discovery/search.ts'
import { exampleMesh, repoRoot } from '../../helpers/runtime.ts'

describe('catalog', () => {
  it('renders Avro as JSON Schema of the canonical JSON values', () => {
    const s = avroToJsonSchema({
      type: 'record',
      name: 'R',
      namespace: 'x',
      fields: [
        { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
        { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 } },
        { name: 'note', type: ['null', 'string'], default: null, doc: 'free text' },
        { name: 'plan', type: { type: 'enum', name: 'Plan', symbols: ['a', 'b'] } },
        { name: 'again', type: 'Plan' },
        { name: 'tags', type: { type: 'array', items: 'string' } },
        { name: 'raw', type: 'bytes' },
      ],
    }) as { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean }
    expect(s.properties.at).toEqual({ type: 'string', format: 'date-time' })
    expect(s.properties.amount).toEqual({ type: 'string', pattern: '^-?\\d+\\.\\d{2}$' })
    expect(s.properties.note).toEqual({ anyOf: [{ type: 'null' }, { type: 'string' }], description: 'free text', default: null })
    expect(s.properties.again).toEqual(s.properties.plan)
    expect(s.properties.tags).toEqual({ type: 'array', items: { type: 'string' } })
    expect(s.properties.raw).toEqual({ type: 'string', contentEncoding: 'base64' })
    expect(s.required).toEqual(['at', 'amount', 'plan', 'again', 'tags', 'raw'])
    expect(s.additionalProperties).toBe(false)
  })

  it('searches names, descriptions, fields, field docs and tags', () => {
    const hits = searchCatalog(exampleMesh(), 'distinct users')
    expect(hits).toEqual([{ product: 'top-podcasts', where: 'output port daily-plays field listeners', text: 'distinct users' }])
    expect(searchCatalog(exampleMesh(), 'PII').map((h) => [h.product, h.where])).toEqual(
      expect.arrayContaining([
        ['user-profiles', 'tag'],
        ['user-profiles', 'output port profiles tag'],
        ['user-profiles', 'output port profiles field email'],
      ]),
    )
    expect(searchCatalog(exampleMesh(), 'no-such-thing-anywhere')).toEqual([])
  })

  it('draws port-to-port lineage as Mermaid and DOT', () => {
    const mermaid = lineageMermaid(exampleMesh())
    expect(mermaid.split('\n')[0]).toBe('flowchart LR')
    expect(mermaid).toContain('topic__registration_public_users --> user_profiles__in__users')
    expect(mermaid).toContain('user_profiles__out__profiles --> podcast_listeners__in__profiles')
    expect(mermaid).toContain('podcast_listeners__out__demographics --> top_podcasts__in__demographics')
    // The README shows the same diagram; it must not drift from the mesh.
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
    expect(readme).toContain(`\`\`\`mermaid\n${mermaid}\n\`\`\``)
    const dot = lineageDot(exampleMesh())
    expect(dot).toMatch(/^digraph mesh \{/)
    expect(dot).toContain('user_profiles__out__profiles -> podcast_listeners__in__profiles;')
  })
})
