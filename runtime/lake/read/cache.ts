import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { moduleLogger } from '../../logger.ts'
import type { LakeStorage } from '../storage.ts'

/**
 * A local, read-through cache of lake files for DuckDB, which reads local paths only (httpfs is
 * not available offline, and its extensions are version-locked). Iceberg data and delete files
 * never change once written, so a cached copy stays valid for as long as the URI exists: no
 * expiry, no revalidation. Files are keyed by their URI (sha-256), land through a temporary file
 * and a rename (a reader never sees a partial copy, and racing processes agree), and are fetched
 * once per cache at a time. Storage with local paths (file://) bypasses the cache.
 *
 * The folder holds nothing but lake files, so the query sandbox may read all of it. It grows with
 * the lake files read; deleting it while no query runs is always safe. A runtime owns one cache
 * (in `<dataDir>/lake-cache`).
 */
const log = moduleLogger('lake')
const FETCH_CONCURRENCY = 4

export interface CachedFile {
  uri: string
  /** Expected size (the manifest's file_size_in_bytes); a cached copy of another size is fetched again. */
  size?: number
}

export class LakeCache {
  /** The cache folder (absolute). */
  readonly dir: string
  readonly #inFlight = new Map<string, Promise<string>>()

  constructor(dir: string) {
    this.dir = path.resolve(dir)
  }

  /** Where the cached copy of a URI lives: a hash prefix for uniqueness, the base name for people. */
  pathOf(uri: string): string {
    const hash = createHash('sha256').update(uri).digest('hex')
    const base = path.basename(uri).replace(/[^A-Za-z0-9._-]/g, '_').slice(-80)
    return path.join(this.dir, hash.slice(0, 2), `${hash.slice(0, 32)}-${base}`)
  }

  /** A local path for each file, fetching what is not cached yet. */
  async localCopies(storage: LakeStorage, files: readonly CachedFile[]): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    const unique = [...new Map(files.map((f) => [f.uri, f])).values()]
    let next = 0
    const worker = async (): Promise<void> => {
      for (let i = next++; i < unique.length; i = next++) {
        const f = unique[i] as CachedFile
        out.set(f.uri, await this.localCopy(storage, f))
      }
    }
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, unique.length) }, worker))
    return out
  }

  async localCopy(storage: LakeStorage, file: CachedFile): Promise<string> {
    const local = storage.localPath(file.uri)
    if (local !== undefined) return local
    const target = this.pathOf(file.uri)
    let pending = this.#inFlight.get(target)
    if (!pending) {
      pending = fetchOnce(storage, file, target).finally(() => this.#inFlight.delete(target))
      this.#inFlight.set(target, pending)
    }
    return pending
  }

  /**
   * Seeds the cache with a file just written to `uri` from `localFile` (before the upload consumes
   * it), so reading back what a writer produced costs no download. A hard link where possible, else
   * a copy; best effort: a failure only means a later download.
   */
  async seed(storage: LakeStorage, uri: string, localFile: string): Promise<void> {
    if (storage.localPath(uri) !== undefined) return
    const target = this.pathOf(uri)
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`
    try {
      await fs.mkdir(path.dirname(target), { recursive: true })
      await fs.link(localFile, tmp).catch(() => fs.copyFile(localFile, tmp))
      await fs.rename(tmp, target)
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined)
      log.debug({ uri, err: e }, 'could not seed the lake cache')
    }
  }

  /** Forgets a URI (a write that failed after seeding). */
  async evict(uri: string): Promise<void> {
    await fs.rm(this.pathOf(uri), { force: true }).catch(() => undefined)
  }
}

async function fetchOnce(storage: LakeStorage, file: CachedFile, target: string): Promise<string> {
  const size = await fs.stat(target).then((s) => s.size, () => undefined)
  if (size !== undefined && (file.size === undefined || size === file.size)) return target
  await fs.mkdir(path.dirname(target), { recursive: true })
  const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`
  try {
    if (storage.download) await storage.download(file.uri, tmp)
    else await fs.writeFile(tmp, await storage.read(file.uri), { flag: 'wx' })
    await fs.rename(tmp, target)
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined)
    throw e
  }
  log.debug({ uri: file.uri, path: target }, 'cached a lake file')
  return target
}
