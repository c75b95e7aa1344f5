// The CLI's TypeScript, compiled: one esbuild bundle of runtime/cli/run.ts and every command module
// of the table (commands.js), split into chunks so that a command loads only its own code, with the
// packages of node_modules left as imports. Node 20 then loads plain JavaScript instead of running
// every module through tsx's loader thread (see the README's Commands section for the figures).
//
// The bundle is a cache of the sources, never a second source of truth: it lives in
// dist/cli/<key>/, where the key hashes the content of every file it was built from, and it is used
// only while those files still hash to that key. So an edited source is never run stale (the next
// command rebuilds, ~0.3 s), and a tarball install (`npm pack` runs `prepack`, which builds it)
// finds it valid whatever mtimes the install gave the files. Builds are atomic (a finished folder is
// renamed into place, then current.json is replaced), so parallel first runs are safe. Where
// nothing can be built or written (no esbuild, a read-only install), the caller runs the sources
// through tsx as before.
//
// `node runtime/cli/compiled.js` builds it and removes older builds (npm's prepare and prepack).
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { commands } from './commands.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const dist = path.join(root, 'dist', 'cli')
const current = path.join(dist, 'current.json')
/** Changes to the build options below change every key. */
const OPTIONS_VERSION = 1

/**
 * @typedef {{ key: string, dir: string, inputs: string[], stamps?: Record<string, [size: number, mtimeMs: number]> }} Build
 */

/** The modules the table names, relative to runtime/cli (e.g. './commands/topics.ts'). */
function entryModules() {
  /** @type {Set<string>} */
  const modules = new Set(['./run.ts'])
  /** @param {import('./commands.js').CommandDef[]} defs */
  const walk = (defs) => {
    for (const d of defs) {
      if (d.action) modules.add(d.action[0])
      walk(d.commands ?? [])
    }
  }
  walk(commands)
  return [...modules]
}

/**
 * The key of a set of source files (relative to the package root): their paths and contents, the
 * esbuild version and the build options. Undefined when one of them is gone.
 * @param {string[]} inputs
 * @param {string} esbuildVersion
 */
function keyOf(inputs, esbuildVersion) {
  const hash = createHash('sha256').update(`${OPTIONS_VERSION}\0${esbuildVersion}\0`)
  for (const input of inputs) {
    let text
    try {
      text = fs.readFileSync(path.join(root, input))
    } catch {
      return undefined
    }
    hash.update(input).update('\0').update(text).update('\0')
  }
  return hash.digest('hex').slice(0, 24)
}

/** @returns {Build | undefined} */
function readCurrent() {
  try {
    return JSON.parse(fs.readFileSync(current, 'utf8'))
  } catch {
    return undefined
  }
}

/** The installed esbuild's version (part of the key), read from its package.json without loading esbuild. */
function esbuildVersion() {
  try {
    return /** @type {string} */ (JSON.parse(fs.readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8')).version)
  } catch {
    return undefined
  }
}

/** Size and modification time of each input: undefined when one is gone. */
function stampsOf(/** @type {string[]} */ inputs) {
  /** @type {Record<string, [number, number]>} */
  const stamps = {}
  for (const input of inputs) {
    const stat = fs.statSync(path.join(root, input), { throwIfNoEntry: false })
    if (!stat) return undefined
    stamps[input] = [stat.size, stat.mtimeMs]
  }
  return stamps
}

/** Writes current.json atomically (a reader sees the old file or the new one). */
function writeCurrent(/** @type {Build} */ build) {
  const next = `${current}.${process.pid}`
  fs.writeFileSync(next, JSON.stringify(build))
  fs.renameSync(next, current)
}

/**
 * The folder of a build that is valid for the sources as they are now, or undefined. Files whose
 * size and mtime are as recorded are not read again (~3 ms for the whole set, where hashing it
 * takes 10 to 60 ms); otherwise (a tarball install sets its own mtimes, a checkout touches files)
 * the content decides, and the new stamps are recorded when the folder is writable.
 */
export function freshBuild() {
  const build = readCurrent()
  if (!build) return undefined
  const dir = path.join(dist, build.dir)
  if (!fs.existsSync(path.join(dir, 'run.js'))) return undefined
  const stamps = stampsOf(build.inputs)
  if (!stamps) return undefined
  if (build.stamps && build.inputs.every((i) => build.stamps?.[i]?.[0] === stamps[i]?.[0] && build.stamps?.[i]?.[1] === stamps[i]?.[1])) return dir
  const version = esbuildVersion()
  if (!version || keyOf(build.inputs, version) !== build.key) return undefined
  try {
    writeCurrent({ ...build, stamps })
  } catch {
    // A read-only install: the content is checked each time.
  }
  return dir
}

/**
 * Builds the bundle and publishes it as the current build. Returns its folder, or undefined when
 * the sources changed while it was built (it is then not published; the next run builds again).
 */
export async function build() {
  const esbuild = await import('esbuild')
  const started = Date.now()
  fs.mkdirSync(dist, { recursive: true })
  const tmp = fs.mkdtempSync(path.join(dist, `.build-${process.pid}-`))
  try {
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: entryModules().map((m) => path.join('runtime/cli', m)),
      outbase: 'runtime/cli',
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
    })
    const inputs = Object.keys(result.metafile.inputs).sort()
    const changed = inputs.some((i) => fs.statSync(path.join(root, i)).mtimeMs >= started)
    const key = keyOf(inputs, esbuild.version)
    if (changed || !key) return undefined
    const dir = path.join(dist, key)
    try {
      fs.renameSync(tmp, dir)
    } catch (e) {
      // Another process published the same build first.
      if (!fs.existsSync(path.join(dir, 'run.js'))) throw e
    }
    const stamps = stampsOf(inputs)
    writeCurrent({ key, dir: key, inputs, ...(stamps ? { stamps } : {}) })
    return dir
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/**
 * The compiled CLI's folder as a file URL ending in '/': a fresh build, or a new one. Undefined
 * when it cannot be had (the caller then runs the sources through tsx).
 */
export async function compiledCli() {
  const dir = freshBuild() ?? (await build().catch(() => undefined))
  return dir ? pathToFileURL(`${dir}${path.sep}`) : undefined
}

/** Removes every build but the current one (older ones may still serve a process started before; only for explicit builds). */
function prune() {
  const keep = readCurrent()?.dir
  for (const entry of fs.readdirSync(dist)) if (entry !== keep && entry !== 'current.json') fs.rmSync(path.join(dist, entry), { recursive: true, force: true })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = freshBuild() ?? (await build())
  if (!dir) throw new Error('the sources changed during the build: run it again')
  prune()
  process.stderr.write(`compiled the CLI into ${path.relative(root, dir)}\n`)
}
