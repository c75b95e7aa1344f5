import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { messageOf } from '../../../runtime/errors.ts'
import { createRunnables, runProducts } from '../../../runtime/runner.ts'
import { loadProduct } from '../../../runtime/product/load.ts'
import { readTopic, tempDir, tempRuntime } from '../../helpers/runtime.ts'

const revoked = (() => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
})()

describe('messageOf', () => {
  it('prints anything that can be thrown, and never throws itself', () => {
    const noPrototype = Object.create(null) as object
    const hostile = { toString: () => { throw new Error('no') } }
    const getter = Object.defineProperty(new Error('x'), 'message', { get: () => { throw new Error('no') } })
    expect(messageOf(new Error('plain'))).toBe('plain')
    expect(messageOf('text')).toBe('text')
    expect(messageOf(noPrototype)).toBe('{}')
    expect(messageOf(Object.assign(Object.create(null) as object, { code: 7 }))).toBe('{"code":7}')
    expect(messageOf(hostile)).toBe('{}')
    expect(messageOf(getter)).toBe('a value that cannot be printed was thrown')
    expect(messageOf(revoked)).toBe('a value that cannot be printed was thrown')
    expect(messageOf(Symbol('s'))).toBe('Symbol(s)')
    expect(messageOf(12n)).toBe('12')
    expect(messageOf(undefined)).toBe('undefined')
  })
})

describe('a transform that throws something unprintable', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  it('dead-letters that record and keeps running (it stopped the run before)', async () => {
    const dir = tempDir('trib-unprintable-')
    dirs.push(dir)
    fs.mkdirSync(path.join(dir, 'schemas'))
    fs.writeFileSync(path.join(dir, 'schemas', 'n.avsc'), JSON.stringify({ type: 'record', name: 'N', namespace: 'unprintable.test', fields: [{ name: 'n', type: 'long' }] }))
    fs.writeFileSync(
      path.join(dir, 'product.yaml'),
      'apiVersion: tributary/v1\nkind: DataProduct\nname: unprintable\ndomain: tests\ndescription: Throws an object without a prototype for n = 2.\nowner: { team: tests }\n' +
        'inputPorts:\n  - { name: numbers, topic: unprintable.in, format: json, schema: unprintable.test.N }\n' +
        'outputPorts:\n  - { name: out, topic: unprintable.out, schema: unprintable.test.N }\n',
    )
    fs.writeFileSync(path.join(dir, 'transform.ts'), "export default (r: { value: { n: number } }) => { if (r.value.n === 2) throw Object.create(null); return { port: 'out', value: r.value } }\n")
    const { runtime, cleanup } = await tempRuntime()
    try {
      await runtime.log.append([1, 2, 3].map((n) => ({ topic: 'unprintable.in', key: null, value: Buffer.from(JSON.stringify({ n })) })))
      await runProducts(await createRunnables(runtime, [loadProduct(dir)]), { untilIdle: true })
      expect(await readTopic(runtime.log, 'unprintable.out')).toHaveLength(2)
      const [dead] = await readTopic(runtime.log, 'unprintable.dlq')
      expect(dead!.headers['tributary.error.code']!.toString()).toBe('TRIB_TRANSFORM_FAILED')
      expect(dead!.headers['tributary.error.message']!.toString()).toBe('transform threw: {}')
    } finally {
      await cleanup()
    }
  })
})
