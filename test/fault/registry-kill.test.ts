import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { openEmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'

const fixture = fileURLToPath(new URL('./fixtures/registrar.ts', import.meta.url))
const root = fileURLToPath(new URL('../../', import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-registry-kill-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Runs a registrar until it has acknowledged some registrations, then SIGKILLs it; returns its acks. */
async function registerAndKill(tag: string, runMs: number): Promise<Map<string, number>> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, tag], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  const acks = new Map<string, number>()
  let partial = ''
  let ready: () => void
  const started = new Promise<void>((resolve) => (ready = resolve))
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop()!
    for (const l of lines) {
      if (l === 'ready') ready()
      const [word, name, id] = l.split(' ')
      if (word === 'ack') acks.set(name!, Number(id))
    }
  })
  await started
  await new Promise((resolve) => setTimeout(resolve, runMs))
  child.kill('SIGKILL')
  await new Promise((resolve) => child.on('exit', resolve))
  return acks
}

describe('the embedded registry under SIGKILL', () => {
  it('never loses an acknowledged registration and never gives an id twice', { timeout: 240_000 }, async () => {
    const acked = new Map<string, number>()
    for (let i = 0; i < 8; i++) {
      for (const [name, id] of await registerAndKill(`k${i}`, 100 + Math.random() * 400)) acked.set(name, id)
      // A writer opens the folder after each kill: a torn line is the dead writer's, cut; nothing else changes.
      const registry = await openEmbeddedRegistry({ dir })
      const probe = await registry.register(`probe-${i}-value`, { type: 'record', name: `Probe${i}`, fields: [{ name: 'a', type: 'int' }] })
      for (const [name, id] of acked) expect((await registry.getVersion(`${name}-value`, 1)).id, name).toBe(id)
      expect([...acked.values()]).not.toContain(probe.id)
      await registry.close()
    }
    const ids = [...acked.values()]
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.length).toBeGreaterThan(8)
  })
})
