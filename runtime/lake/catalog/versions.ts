import { TributaryError, isTributaryError } from '../../errors.ts'
import { moduleLogger } from '../../logger.ts'
import { parseMetadata, type LoadedMetadata } from '../iceberg/metadata.ts'
import type { LakeStorage } from '../storage.ts'

/**
 * Metadata versions on storage, the way file-system Iceberg catalogs keep them (Hadoop tables,
 * pyiceberg's and Spark's Hadoop convention): `metadata/v<N>.metadata.json`, one per commit, created
 * exclusively, plus `metadata/version-hint.text` holding the latest N (a hint only: readers probe
 * upward from it, since a writer may die between its commit and the hint).
 */
const log = moduleLogger('lake')

export const VERSION_HINT = 'metadata/version-hint.text'
export const metadataPath = (version: number): string => `metadata/v${version}.metadata.json`
const VERSION_FILE = /(?:^|\/)metadata\/v(\d+)\.metadata\.json$/

/** The N of a `v<N>.metadata.json` path or URI. */
export function versionOf(file: string): number {
  const m = VERSION_FILE.exec(file)
  if (!m) throw new TributaryError('TRIB_INTERNAL', `${file} is not a metadata version file (metadata/v<N>.metadata.json)`)
  return Number(m[1])
}

/**
 * The latest metadata version of the table rooted at `storage`, or undefined when there is none;
 * `known`, a version read or written before, is returned as it is when it is still the latest
 * (no read, no parse: a table's commit loop re-checks the latest version often). An unreadable
 * latest version is TRIB_LAKE_CORRUPT naming it, and saying which earlier version is
 * intact when one is (versions are immutable, so the intact one is the table before that commit).
 */
export async function loadLatest(storage: LakeStorage, known?: LoadedMetadata): Promise<LoadedMetadata | undefined> {
  const version = await latestVersion(storage)
  if (version === undefined) return undefined
  // A version file never changes once created: the one `known` was read from (or written as) still holds it.
  if (known !== undefined && versionOf(known.file) === version) return known
  try {
    return await readVersion(storage, version)
  } catch (e) {
    if (!isTributaryError(e, 'TRIB_LAKE_CORRUPT')) throw e
    const intact = await newestIntact(storage, version - 1)
    if (intact === undefined) throw e
    const message = `${e.message}; ${metadataPath(intact).replace('metadata/', '')} is intact${intact === version - 1 ? ' (the version before it)' : ''}`
    throw new TributaryError('TRIB_LAKE_CORRUPT', message, { cause: e.cause, details: { ...e.details, intactVersion: storage.uri(metadataPath(intact)) } })
  }
}

/** How far back an unreadable latest version looks for an intact one (each look is one read). */
const INTACT_LOOKBACK = 10

async function newestIntact(storage: LakeStorage, from: number): Promise<number | undefined> {
  for (let v = from; v >= 1 && v > from - INTACT_LOOKBACK; v--) {
    try {
      await readVersion(storage, v)
      return v
    } catch (e) {
      if (!isTributaryError(e, 'TRIB_LAKE_CORRUPT') && !isTributaryError(e, 'TRIB_LAKE_FILE_NOT_FOUND')) throw e
    }
  }
  return undefined
}

export async function readVersion(storage: LakeStorage, version: number): Promise<LoadedMetadata> {
  const path = metadataPath(version)
  const file = storage.uri(path)
  const metadata = parseMetadata(await storage.read(path), file)
  return { metadata, file }
}

/** Whether the storage holds a table (a version file), in one listing; reads no metadata, so a damaged table still counts. */
export async function hasVersions(storage: LakeStorage): Promise<boolean> {
  return (await storage.list('metadata/v')).some((p) => VERSION_FILE.test(p))
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
  let v = versions.reduce((a, b) => Math.max(a, b))
  while (await storage.exists(metadataPath(v + 1))) v++
  return v
}

/**
 * Creates version `version` exclusively and then moves the hint. true: our file is there (also
 * when the create failed but a read-back finds our bytes). false: another writer's file is there.
 * Throws TRIB_LAKE_COMMIT_STATE_UNKNOWN when it cannot tell.
 */
export async function createVersion(storage: LakeStorage, version: number, bytes: Buffer): Promise<boolean> {
  const path = metadataPath(version)
  if (!(await createOrFindOut(storage, path, bytes))) return false
  await writeHint(storage, version)
  return true
}

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
