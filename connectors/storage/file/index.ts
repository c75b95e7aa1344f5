import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { TributaryError, isTributaryError } from '../../../runtime/errors.ts'
import { relativeTo, type LakeStorage } from '../../../runtime/lake/storage.ts'

/**
 * Lake storage on a local directory (`file:///abs/dir` or a bare path).
 *
 * Atomic writes go through a temporary file in the target's directory, fsynced, then renamed into
 * place. `createExclusive` never renames (rename silently overwrites): it fsyncs a temporary file
 * and hard-links it to the target, which fails with EEXIST when the target exists and makes the file
 * visible only once complete. On a filesystem without hard links it falls back to
 * `open(target, 'wx')`, still exclusive but with the content written after creation.
 */
const TMP_PREFIX = '.tmp-'

export function openFileStorage(uri: string): LakeStorage {
  const dir = uri.startsWith('file:') ? uri.replace(/^file:(\/\/)?/, '') : path.resolve(uri)
  if (!dir.startsWith('/')) {
    throw new TributaryError('TRIB_LAKE_STORAGE_URI', `lake URI ${uri}: a file URI needs an absolute path (file:///abs/dir)`, { details: { uri } })
  }
  return new FileStorage(path.resolve(dir))
}

class FileStorage implements LakeStorage {
  readonly root: string

  constructor(private readonly dir: string) {
    this.root = `file://${dir === '/' ? '' : dir}`
  }

  uri(p: string): string {
    const rel = relativeTo(this.root, p)
    return rel === '' ? this.root : `${this.root}/${rel}`
  }

  localPath(p: string): string {
    return path.join(this.dir, relativeTo(this.root, p))
  }

  async read(p: string): Promise<Buffer> {
    const file = this.localPath(p)
    try {
      return await fs.readFile(file)
    } catch (e) {
      throw this.fail(e, 'read', p)
    }
  }

  async write(p: string, data: Uint8Array): Promise<void> {
    const file = this.localPath(p)
    const tmp = tempBeside(file)
    try {
      await fs.mkdir(path.dirname(file), { recursive: true })
      await writeSynced(tmp, data, 'wx')
      await fs.rename(tmp, file)
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined)
      throw this.fail(e, 'write', p)
    }
  }

  async putFile(p: string, localFile: string): Promise<void> {
    const file = this.localPath(p)
    const tmp = tempBeside(file)
    try {
      await fs.mkdir(path.dirname(file), { recursive: true })
      try {
        await fs.rename(localFile, tmp)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e
        await fs.copyFile(localFile, tmp)
        await fs.rm(localFile, { force: true })
      }
      const handle = await fs.open(tmp, 'r+')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
      await fs.rename(tmp, file)
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined)
      throw this.fail(e, 'write', p)
    }
  }

  async createExclusive(p: string, data: Uint8Array): Promise<boolean> {
    const file = this.localPath(p)
    const tmp = tempBeside(file)
    try {
      await fs.mkdir(path.dirname(file), { recursive: true })
      await writeSynced(tmp, data, 'wx')
      try {
        await fs.link(tmp, file)
        return true
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'EEXIST') return false
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e
      }
      try {
        await writeSynced(file, data, 'wx')
        return true
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw e
      }
    } catch (e) {
      throw this.fail(e, 'create', p)
    } finally {
      await fs.rm(tmp, { force: true }).catch(() => undefined)
    }
  }

  async exists(p: string): Promise<boolean> {
    try {
      await fs.access(this.localPath(p))
      return true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw this.fail(e, 'stat', p)
    }
  }

  async list(prefix: string): Promise<string[]> {
    const rel = relativeTo(this.root, prefix)
    // Walk the deepest directory the prefix names fully, then filter by the whole prefix.
    const base = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : ''
    const out: string[] = []
    const walk = async (relDir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[]
      try {
        entries = await fs.readdir(path.join(this.dir, relDir), { withFileTypes: true })
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'ENOENT' || code === 'ENOTDIR') return
        throw this.fail(e, 'list', relDir)
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TMP_PREFIX)) continue
        const child = relDir === '' ? entry.name : `${relDir}/${entry.name}`
        if (entry.isDirectory()) {
          if (child.startsWith(rel) || rel.startsWith(`${child}/`)) await walk(child)
        } else if (child.startsWith(rel)) {
          out.push(child)
        }
      }
    }
    await walk(base)
    return out.sort()
  }

  async folders(folder: string): Promise<string[]> {
    const rel = relativeTo(this.root, folder).replace(/\/+$/, '')
    try {
      const entries = await fs.readdir(path.join(this.dir, rel), { withFileTypes: true })
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return []
      throw this.fail(e, 'list', rel)
    }
  }

  async delete(p: string): Promise<void> {
    try {
      await fs.rm(this.localPath(p), { force: true })
    } catch (e) {
      throw this.fail(e, 'delete', p)
    }
  }

  private fail(e: unknown, op: string, p: string): TributaryError {
    if (isTributaryError(e)) return e
    const where = this.uri(p)
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && op === 'read') {
      return new TributaryError('TRIB_LAKE_FILE_NOT_FOUND', `lake file ${where} does not exist`, { cause: e, details: { path: where } })
    }
    return new TributaryError('TRIB_LAKE_STORAGE', `lake storage could not ${op} ${where}: ${(e as Error).message}`, {
      cause: e,
      details: { path: where, op },
    })
  }
}

const tempBeside = (file: string): string => path.join(path.dirname(file), `${TMP_PREFIX}${path.basename(file)}-${randomBytes(6).toString('hex')}`)

async function writeSynced(file: string, data: Uint8Array, flag: 'wx'): Promise<void> {
  const handle = await fs.open(file, flag)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
}
