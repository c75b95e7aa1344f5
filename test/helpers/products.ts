import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface TickProduct {
  /** The transform's source (default: every record to the output port as it is). */
  transform?: string
  /** Avro fields of the tick record (default: id long, note string). */
  fields?: object[]
  /** The output port's `snapshot:` block as YAML flow (default: none, no lake table). */
  snapshot?: string
  /** The spec's `processing:` block as YAML flow. */
  processing?: string
}

/**
 * A product for tests in `<root>/<name>`: JSON ticks in on `<name>.in`, Avro ticks out on port
 * `out` (topic `<name>.out`, keyed by id). Returns its folder.
 */
export function writeTickProduct(root: string, name: string, options: TickProduct = {}): string {
  const dir = path.join(root, name)
  const namespace = `tests.${name.replace(/-/g, '_')}`
  const fields = options.fields ?? [
    { name: 'id', type: 'long' },
    { name: 'note', type: 'string' },
  ]
  fs.mkdirSync(path.join(dir, 'schemas'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'schemas', 'tick.avsc'), JSON.stringify({ type: 'record', name: 'Tick', namespace, fields }))
  const lines = [
    'apiVersion: tributary/v1',
    'kind: DataProduct',
    `name: ${name}`,
    'domain: tests',
    'description: Ticks, for a test.',
    'owner: { team: tests }',
    'inputPorts:',
    `  - { name: ticks, topic: ${name}.in, format: json, schema: ${namespace}.Tick }`,
    'outputPorts:',
    `  - { name: out, topic: ${name}.out, schema: ${namespace}.Tick, key: id${options.snapshot ? `, snapshot: ${options.snapshot}` : ''} }`,
    ...(options.processing ? [`processing: ${options.processing}`] : []),
  ]
  fs.writeFileSync(path.join(dir, 'product.yaml'), `${lines.join('\n')}\n`)
  fs.writeFileSync(path.join(dir, 'transform.ts'), options.transform ?? "export default (r: { value: object }) => ({ port: 'out', value: r.value })\n")
  return dir
}

/** Waits until `check` holds, polling; fails naming what it waited for. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}
