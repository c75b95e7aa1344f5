import { openStorageProvider } from '../../connectors/storage/index.ts'
import type { S3StorageOptions } from '../../connectors/storage/s3/index.ts'
import { messageOf } from '../errors.ts'
import { joinPath, lakeResources, metadataPath, openFileCatalog, readVersion, snapshotFiles, VERSION_HINT, versionOf, type LakeStorage, type LoadedMetadata, type SnapshotId } from '../lake/index.ts'
import { pushAll } from '../util/arrays.ts'
import { plural, type Finding } from './report.ts'

/**
 * `tributary doctor` for the lake, through the lake's public entry points only: the file catalog
 * lists the tables (`<lake>/<product>/<port>/`; listing reads no metadata, so damaged tables are
 * listed too), then for each table every metadata version is read, the manifest lists and
 * manifests of every snapshot of the newest readable one, and every data and delete file they
 * reference is checked to exist. The repair of unreadable newest versions moves them aside, so the
 * table is at its newest intact version again (the compactor commits the lost snapshots again from
 * the log: a snapshot records the offsets it covers). Missing data files are reported with the
 * newest snapshot that has all of its files, for `tributary lake rollback`.
 */
export async function inspectLake(uri: string, options: { s3: S3StorageOptions; cacheDir: string }): Promise<Finding[]> {
  const lake = lakeResources({ storage: openStorageProvider({ s3: options.s3 }), cacheDir: options.cacheDir })
  try {
    let catalog
    try {
      catalog = await openFileCatalog(uri, lake)
    } catch (e) {
      return [{ part: 'lake', subject: uri, ok: false, detail: `cannot be opened (${messageOf(e)})` }]
    }
    const findings: Finding[] = []
    for (const namespace of await catalog.listNamespaces()) {
      for (const id of await catalog.listTables(namespace)) {
        const name = [...id.namespace, id.name].join('/')
        const storage = await lake.storage.open(joinPath(catalog.uri, name))
        const versions = (await storage.list('metadata/v')).filter((f) => /\.metadata\.json$/.test(f)).map(versionOf)
        findings.push(await inspectTable(storage, name, versions.sort((a, b) => a - b)))
      }
    }
    return findings
  } finally {
    await lake.close()
  }
}

/**
 * The byte where a JSON text stops being JSON (undefined when it parses): JSON.parse's messages
 * do not always say where.
 */
export function jsonErrorAt(text: string): number | undefined {
  let i = 0
  const fail = (): never => {
    throw new RangeError(String(Buffer.byteLength(text.slice(0, i))))
  }
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++
  }
  const string = (): void => {
    for (i++; i < text.length; i++) {
      if (text[i] === '"') return void i++
      if (text[i] === '\\') i++
      else if (text[i]! < ' ') fail()
    }
    fail()
  }
  const value = (): void => {
    ws()
    const open = text[i]
    if (open === '"') return string()
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']'
      i++
      ws()
      if (text[i] === close) return void i++
      for (;;) {
        if (open === '{') {
          ws()
          if (text[i] !== '"') fail()
          string()
          ws()
          if (text[i] !== ':') fail()
          i++
        }
        value()
        ws()
        if (text[i] === ',') i++
        else if (text[i] === close) return void i++
        else fail()
      }
    }
    const atom = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 512))
    if (atom === null) fail()
    i += atom![0].length
  }
  try {
    value()
    ws()
    if (i < text.length) fail()
    return undefined
  } catch (e) {
    if (e instanceof RangeError) return Number(e.message)
    throw e
  }
}

/** Why a metadata file cannot be read, with the byte where its JSON breaks when that is the reason. */
async function unreadable(storage: LakeStorage, version: number, e: unknown): Promise<string> {
  const at = jsonErrorAt((await storage.read(metadataPath(version)).catch(() => Buffer.from('{}'))).toString())
  return at === undefined ? `(${messageOf(e)})` : `at byte ${at} (not JSON from there)`
}

async function inspectTable(storage: LakeStorage, name: string, versions: number[]): Promise<Finding> {
  const broken: Array<{ version: number; why: string }> = []
  let current: (LoadedMetadata & { version: number }) | undefined
  for (const v of [...versions].reverse()) {
    try {
      current = { ...(await readVersion(storage, v)), version: v }
      break
    } catch (e) {
      broken.push({ version: v, why: await unreadable(storage, v, e) })
    }
  }
  const parts: string[] = []
  if (current === undefined) {
    return { part: 'lake', subject: name, ok: false, detail: versions.length === 0 ? 'a version hint but no metadata file' : `no readable metadata version: ${broken.map((u) => `v${u.version} ${u.why}`).join('; ')}` }
  }
  const md = current.metadata
  parts.push(`v${current.version}.metadata.json is intact (${plural(md.snapshots.length, 'snapshot')}, main at ${md.refs.main?.['snapshot-id'] ?? 'none'})`)
  for (const u of broken) parts.push(`v${u.version}.metadata.json is unreadable ${u.why}`)

  // Every file of every snapshot, each manifest read once; missing files by the snapshots naming them.
  const missing = new Map<string, SnapshotId[]>()
  const unreadableFiles: string[] = []
  const complete: SnapshotId[] = []
  let checked = 0
  const seen = new Map<string, boolean>()
  for (const snapshot of md.snapshots) {
    try {
      const files = await snapshotFiles(storage, md, snapshot)
      let whole = true
      for (const f of [...files.data, ...files.deletes]) {
        const path = f.dataFile.filePath
        if (!seen.has(path)) {
          seen.set(path, await storage.exists(path))
          checked++
        }
        if (!seen.get(path)) {
          whole = false
          missing.set(path, [...(missing.get(path) ?? []), snapshot['snapshot-id']])
        }
      }
      if (whole) complete.push(snapshot['snapshot-id'])
    } catch (e) {
      unreadableFiles.push(`snapshot ${snapshot['snapshot-id']}: ${messageOf(e)}`)
    }
  }
  parts.push(`${plural(checked, 'data file')} referenced${missing.size === 0 ? ', all present' : ''}`)
  for (const [file, ids] of missing) parts.push(`${file} is missing (referenced by ${plural(ids.length, 'snapshot')}: ${ids.join(', ')})`)
  pushAll(parts, unreadableFiles)
  const main = md.refs.main?.['snapshot-id']
  if ((missing.size > 0 || unreadableFiles.length > 0) && main !== undefined && !complete.includes(main)) {
    const fallback = [...md.snapshots].filter((s) => complete.includes(s['snapshot-id'])).sort((a, b) => b['timestamp-ms'] - a['timestamp-ms'])[0]
    parts.push(fallback ? `the newest snapshot with every file is ${fallback['snapshot-id']} (tributary lake rollback ${name.replace('/', '.')} --to ${fallback['snapshot-id']})` : 'no snapshot has every file')
  }
  const latestIntact = broken.every((u) => u.version < current!.version)
  const finding: Finding = { part: 'lake', subject: name, ok: latestIntact && missing.size === 0 && unreadableFiles.length === 0, detail: parts.join('; ') }
  const newer = broken.filter((u) => u.version > current.version)
  if (newer.length > 0) {
    finding.ok = false
    finding.repair = {
      action: `move ${newer.map((u) => `v${u.version}.metadata.json`).join(', ')} aside and point the version hint at v${current.version}`,
      loses: `the table versions after v${current.version} (their snapshots are committed again by the compactor, from the offsets v${current.version} covers)`,
      apply: async (quarantine) => {
        for (const u of newer) {
          const file = metadataPath(u.version)
          quarantine.keep(`lake/${name}/${file}`, await storage.read(file))
          await storage.delete(file)
        }
        await storage.write(VERSION_HINT, Buffer.from(String(current.version)))
      },
    }
  }
  return finding
}
