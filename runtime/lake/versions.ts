import { TributaryError, isTributaryError } from '../errors.ts'
import { moduleLogger } from '../logger.ts'
import { retry } from '../util/retry.ts'
import { applyCommit, type TableCommit } from './commit.ts'
import { parseMetadata, serializeMetadata } from './metadata.ts'
import type { LakeStorage } from './storage.ts'
import type { TableMetadata } from './types.ts'

/**
 * Metadata versions on storage, the way file-system Iceberg catalogs keep them:
 * `metadata/v<N>.metadata.json`, one per commit, created exclusively, plus `metadata/version-hint.text`
 * holding the latest N (a hint only: readers probe upward from it, since a writer may die between
 * its commit and the hint).
 */
const log = moduleLogger('lake')

export const VERSION_HINT = 'metadata/version-hint.text'
export const metadataPath = (version: number): string => `metadata/v${version}.metadata.json`
const VERSION_FILE = /^metadata\/v(\d+)\.metadata\.json$/

export interface LoadedMetadata {
  metadata: TableMetadata
  version: number
  /** Absolute URI of the metadata file. */
  file: string
}

/** The latest metadata version of the table rooted at `storage`, or undefined when there is none. */
export async function loadLatest(storage: LakeStorage): Promise<LoadedMetadata | undefined> {
  const version = await latestVersion(storage)
  return version === undefined ? undefined : readVersion(storage, version)
}

export async function readVersion(storage: LakeStorage, version: number): Promise<LoadedMetadata> {
  const path = metadataPath(version)
  const file = storage.uri(path)
  const metadata = parseMetadata(await storage.read(path), file)
  return { metadata, version, file }
}

async function latestVersion(storage: LakeStorage): Promise<number | undefined> {
  let hinted: number | undefined
  try {
    const text = (await storage.read(VERSION_HINT)).toString().trim()
    if (/^\d+$/.test(text)) hinted = Number(text)
    else log.warn({ file: storage.uri(VERSION_HINT), text }, 'ignoring an unreadable version hint')
  } catch (e) {
    if (!isTributaryError(e, 'TRIB_LAKE_FILE_NOT_FOUND')) throw e
  }
  if (hinted !== undefined && (await storage.exists(metadataPath(hinted)))) {
    let v = hinted
    while (await storage.exists(metadataPath(v + 1))) v++
    return v
  }
  // No usable hint: list the versions (cheap on both file systems and object stores).
  const versions = (await storage.list('metadata/v')).map((p) => VERSION_FILE.exec(p)).filter((m) => m !== null).map((m) => Number(m[1]))
  if (versions.length === 0) return undefined
  let v = Math.max(...versions)
  while (await storage.exists(metadataPath(v + 1))) v++
  return v
}

/**
 * Builds a commit from the latest metadata. Called again after losing a race, with the newer
 * metadata, so it must derive everything base-dependent (sequence numbers, parents, manifest
 * lists) from its argument; it may throw TRIB_LAKE_COMMIT_CONFLICT when its intent no longer holds.
 */
export type CommitPreparer = (base: LoadedMetadata | undefined) => TableCommit | Promise<TableCommit>

export interface CommitOptions {
  /** Attempts before TRIB_LAKE_COMMIT_RETRIES (default: the table's commit.retry.num-retries + 1, else 10). */
  maxAttempts?: number
  /** First backoff; doubles per attempt with jitter, capped at 2 s (default 20 ms). */
  baseDelayMs?: number
  now?: () => number
}

/**
 * Commits: prepare against the latest version, apply (requirements checked), create the next
 * version file exclusively. Losing the race re-reads and retries; a failed requirement is a real
 * conflict and is not retried. When storage fails during the create, the outcome is looked up:
 * our own content there means success, someone else's means we lost (retry), anything else is
 * TRIB_LAKE_COMMIT_STATE_UNKNOWN (never retried blindly: reload and check first).
 */
export async function commitTable(storage: LakeStorage, prepare: CommitPreparer, options: CommitOptions = {}): Promise<LoadedMetadata> {
  const now = options.now ?? Date.now
  let base = await loadLatest(storage)
  const configured = Number(base?.metadata.properties['commit.retry.num-retries'])
  const maxAttempts = options.maxAttempts ?? (Number.isInteger(configured) && configured >= 0 ? configured + 1 : 10)
  return retry(
    async (attempt) => {
      if (attempt > 1) base = await loadLatest(storage)
      const commit = await prepare(base)
      const metadata = applyCommit(base?.metadata, commit, { nowMs: now(), ...(base ? { baseMetadataFile: base.file } : {}) })
      const version = (base?.version ?? 0) + 1
      const path = metadataPath(version)
      if (!(await createOrFindOut(storage, path, serializeMetadata(metadata))))
        throw new TributaryError('TRIB_LAKE_COMMIT_RETRIES', `commit to ${storage.root} lost the race for ${path} ${attempt} times; giving up`, {
          details: { location: storage.root, attempts: attempt },
        })
      await writeHint(storage, version)
      log.debug({ file: storage.uri(path), attempt }, 'committed')
      return { metadata, version, file: storage.uri(path) }
    },
    {
      what: `commit to ${storage.root} lost the race for the next metadata version`,
      backoff: { initialDelayMs: options.baseDelayMs ?? 20, maxDelayMs: 2000, jitter: 0.5 },
      maxAttempts,
      // Only a lost race is retried here: a storage failure or a conflict goes to the caller.
      retryOn: (e) => e.code === 'TRIB_LAKE_COMMIT_RETRIES',
      logger: log,
      level: 'debug',
    },
  )
}

/** true: our file is there. false: another writer's file is there. Throws when it cannot tell. */
async function createOrFindOut(storage: LakeStorage, path: string, bytes: Buffer): Promise<boolean> {
  let createError: unknown
  try {
    return await storage.createExclusive(path, bytes)
  } catch (e) {
    createError = e
  }
  try {
    const found = await storage.read(path)
    return found.equals(bytes) ? true : false
  } catch (e) {
    throw new TributaryError(
      'TRIB_LAKE_COMMIT_STATE_UNKNOWN',
      `commit of ${storage.uri(path)}: the create failed (${(createError as Error).message}) and ${isTributaryError(e, 'TRIB_LAKE_FILE_NOT_FOUND') ? 'the file is not visible' : 'the file cannot be read back'}; reload the table to learn whether it happened`,
      { cause: createError, details: { file: storage.uri(path) } },
    )
  }
}

async function writeHint(storage: LakeStorage, version: number): Promise<void> {
  try {
    // Racing committers may finish out of order; do not move the hint backwards when we can tell.
    const current = await storage.read(VERSION_HINT).then((b) => Number(b.toString()), () => 0)
    if (current > version) return
    await storage.write(VERSION_HINT, Buffer.from(String(version)))
  } catch (e) {
    // Only a hint: readers probe past it. The commit itself has happened.
    log.warn({ file: storage.uri(VERSION_HINT), err: e }, 'could not update the version hint')
  }
}
