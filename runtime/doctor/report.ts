import fs from 'node:fs'
import path from 'node:path'

/**
 * What `tributary doctor` says about one part of the data folder. Examining never changes
 * anything; a finding that can be repaired carries its repair, which says what it does and exactly
 * what it loses before it runs (only with --repair).
 */
export interface Finding {
  part: 'log' | 'registry' | 'state' | 'lake'
  /** What was examined: a file or folder (relative to the data folder where it lies inside it). */
  subject: string
  ok: boolean
  /** What is intact, or what is wrong, with files and byte ranges. */
  detail: string
  repair?: Repair
}

export interface Repair {
  /** What the repair does. */
  action: string
  /** Exactly what is lost ("nothing" when nothing is). */
  loses: string
  apply(quarantine: Quarantine): Promise<void> | void
}

/**
 * Where a repair puts what it removes: `<data>/doctor/<time>/`, mirroring the data folder, so a
 * repair never destroys anything (what it took out can be looked at, or put back by hand).
 */
export class Quarantine {
  readonly dir: string

  constructor(
    private readonly dataDir: string,
    now = new Date(),
  ) {
    this.dir = path.join(dataDir, 'doctor', now.toISOString().replace(/[:.]/g, '-'))
  }

  /** Where a file's quarantined copy goes. */
  pathFor(file: string, suffix = ''): string {
    const rel = path.relative(this.dataDir, file)
    const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
    const target = path.join(this.dir, inside ? rel : path.join('outside', file.replace(/^[/\\]+/, '').replace(/:/g, '_')))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    return `${target}${suffix}`
  }

  /** Moves a file (or folder) out of the way. */
  move(file: string): string {
    const target = this.pathFor(file)
    fs.renameSync(file, target)
    return target
  }

  /** Keeps a copy of the bytes after `at`, then cuts the file there. */
  cut(file: string, at: number): string {
    const target = this.pathFor(file, `.from-byte-${at}`)
    const fd = fs.openSync(file, 'r')
    try {
      const size = fs.fstatSync(fd).size
      const rest = Buffer.alloc(Math.max(0, size - at))
      fs.readSync(fd, rest, 0, rest.length, at)
      fs.writeFileSync(target, rest)
    } finally {
      fs.closeSync(fd)
    }
    fs.truncateSync(file, at)
    return target
  }

  /** Keeps bytes that have no local file (a lake object read before its delete), under `name`. */
  keep(name: string, bytes: Uint8Array): string {
    const target = path.join(this.dir, name)
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, bytes)
    return target
  }
}

export const plural = (n: number, word: string, many = `${word}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`
