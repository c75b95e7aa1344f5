import { describe, expect, it } from 'vitest'
import { commands, type CommandDef } from '../../../runtime/cli/commands.js'

const leaves = (defs: readonly CommandDef[], prefix = ''): Array<{ name: string; def: CommandDef }> =>
  defs.flatMap((d) => (d.commands ? leaves(d.commands, `${prefix}${d.name} `) : [{ name: `${prefix}${d.name}`, def: d }]))

describe('the command table', () => {
  it('names, for every command, a module that exports its action', async () => {
    for (const { name, def } of leaves(commands)) {
      expect(def.action, name).toBeDefined()
      const [file, exportName] = def.action!
      const mod = (await import(new URL(file, new URL('../../../runtime/cli/commands.js', import.meta.url)).href)) as Record<string, unknown>
      expect(typeof mod[exportName], `${name}: ${file} exports ${exportName}`).toBe('function')
    }
  })

  it('has no two commands or options of the same name at one level', () => {
    const check = (defs: readonly CommandDef[]) => {
      expect(new Set(defs.map((d) => d.name)).size).toBe(defs.length)
      for (const d of defs) {
        const longs = (d.options ?? []).map((o) => /--[a-z-]+/.exec(o.flags)![0])
        expect(new Set(longs).size, d.name).toBe(longs.length)
        if (d.commands) check(d.commands)
      }
    }
    check(commands)
  })
})
