import fs from 'node:fs'
import path from 'node:path'

/**
 * The package's own folder (its package.json, products/, the plain-JavaScript entry files of worker
 * threads and child processes). Found by walking up from this module, because modules run from
 * two depths: the sources (runtime/…) and the compiled CLI (dist/cli/<key>/…, one bundle whose
 * chunks all sit in one folder). A module never locates a file relative to itself.
 */
export const packageRoot: string = findRoot(import.meta.dirname)

/** A file of the package: `packageFile('runtime/http/probe-thread.js')`. */
export const packageFile = (relative: string): string => path.join(packageRoot, relative)

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === 'tributary-runtime') return dir
    if (path.dirname(dir) === dir) throw new Error(`no package.json of tributary-runtime above ${from}`)
  }
}
