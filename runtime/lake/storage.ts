import { TributaryError } from '../errors.ts'

/**
 * Where a lake keeps its files, chosen by URI scheme (`file://`, `s3://`). The engine only
 * knows this interface; adapters live in connectors/storage/<scheme>/.
 *
 * Paths. Every method takes either a path relative to `root` ('metadata/v3.metadata.json') or an
 * absolute URI under `root` (what Iceberg metadata stores, e.g. 'file:///lake/p/t/data/x.parquet').
 * A URI outside the root, or a relative path with '..' segments, is TRIB_LAKE_STORAGE_URI. `list`
 * returns relative paths.
 *
 * Contract:
 * - `read` returns the whole file; a missing file is TRIB_LAKE_FILE_NOT_FOUND.
 * - `write` and `putFile` replace the file atomically: a reader sees the old content or the whole
 *   new content, never a part. Lake files are immutable, so they are used for new files and for the
 *   version hint only.
 * - `createExclusive` creates the file only if it does not exist and says whether it did: true when
 *   this call created it, false when it already existed (the content is then left untouched). It
 *   never overwrites, even when two processes race (the commit protocol depends on this), and the
 *   file becomes visible complete.
 * - `delete` of a missing file is not an error.
 * - Any other failure is TRIB_LAKE_STORAGE (retriable), naming the path, with the cause.
 */
export interface LakeStorage {
  /** Absolute URI of the root, without a trailing slash. */
  readonly root: string
  /** The absolute URI of a path (relative or already absolute). */
  uri(path: string): string
  read(path: string): Promise<Buffer>
  write(path: string, data: Uint8Array): Promise<void>
  /** Moves a local file (for example one DuckDB wrote) into storage; the local file is consumed. */
  putFile(path: string, localFile: string): Promise<void>
  createExclusive(path: string, data: Uint8Array): Promise<boolean>
  exists(path: string): Promise<boolean>
  /** Relative paths of all files whose relative path starts with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>
  /**
   * The names of the folders directly under `folder` ('' for the root), sorted, without slashes:
   * on object storage, the common prefixes of the keys below it. A folder that does not exist
   * lists as empty. Lets a catalog find tables without listing every data file.
   */
  folders(folder: string): Promise<string[]>
  delete(path: string): Promise<void>
  /** A path on local disk when the storage has one (DuckDB can read it directly), else undefined. */
  localPath(path: string): string | undefined
  /**
   * Optional: copies a file into a new local file (which must not exist) without holding it all in
   * memory; a missing file is TRIB_LAKE_FILE_NOT_FOUND. The read-through cache (cache.ts) uses it
   * when present, `read` otherwise.
   */
  download?(path: string, localFile: string): Promise<void>
}

/**
 * Opens lake storage by URI scheme, with the settings of one runtime (S3 endpoint, region…). The
 * runtime owns it: `close` releases the clients it made (a storage opened from it is unusable
 * afterwards). A scheme it has no adapter for is TRIB_LAKE_STORAGE_URI.
 */
export interface StorageProvider {
  open(uri: string): Promise<LakeStorage>
  close(): Promise<void>
}

/** The schemes lake storage has adapters for (connectors/storage/); configuration refuses others. */
export const storageSchemes = ['file', 's3'] as const

/** The URI's scheme in lower case; a bare path counts as 'file'. */
export function schemeOf(uri: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)
  return m ? (m[1] as string).toLowerCase() : 'file'
}

/** Joins URI or path segments with single slashes. */
export function joinPath(...parts: string[]): string {
  return parts
    .filter((p) => p !== '')
    .map((p, i) => (i === 0 ? p.replace(/\/+$/, '') : p.replace(/^\/+|\/+$/g, '')))
    .join('/')
}

/**
 * The path relative to `root` for a relative path or an absolute URI under `root`; refuses escapes.
 * Shared by adapters so that every one resolves paths the same way.
 */
export function relativeTo(root: string, path: string): string {
  let rel: string
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) || path.startsWith('/')) {
    const normalized = path.startsWith('/') ? `file://${path}` : path.replace(/^file:\/(?!\/)/, 'file:///')
    if (normalized !== root && !normalized.startsWith(`${root}/`)) {
      throw new TributaryError('TRIB_LAKE_STORAGE_URI', `lake path ${path} is outside the storage root ${root}`, { details: { path, root } })
    }
    rel = normalized.slice(root.length + 1)
  } else {
    rel = path
  }
  if (rel.split('/').some((s) => s === '..' || s === '.')) {
    throw new TributaryError('TRIB_LAKE_STORAGE_URI', `lake path ${path} has '.' or '..' segments`, { details: { path, root } })
  }
  return rel.replace(/^\/+/, '')
}
