import { randomUUID } from 'node:crypto'
import { TributaryError } from '../../errors.ts'
import { applyCommit, type TableCommit } from '../iceberg/commit.ts'
import { createCommit, type CreateTableRequest } from '../iceberg/create.ts'
import { serializeMetadata, type LoadedMetadata } from '../iceberg/metadata.ts'
import type { LakeResources } from '../resources.ts'
import { joinPath, type LakeStorage } from '../storage.ts'
import { Table, type TableOptions } from '../table.ts'
import type { Catalog } from './catalog.ts'
import { formatIdentifier, type Namespace, type TableIdentifier } from './identifier.ts'
import type { TableOperations } from './operations.ts'
import { createVersion, hasVersions, loadLatest, metadataPath, versionOf } from './versions.ts'

/**
 * The catalog that is a folder (file:// or s3://): table `<namespace>.<name>` lives at
 * `<lake>/<namespace>/<name>/` with its metadata versions (versions.ts), and the folders are the
 * listing. It needs no server and no database: what pyiceberg, Spark and Trino call a Hadoop
 * catalog. One namespace level (Tributary's product); names are single path segments.
 */
export async function openFileCatalog(uri: string, lake: LakeResources, options: TableOptions = {}): Promise<Catalog> {
  return new FileCatalog(await lake.storage.open(uri), lake, options)
}

const NAME = /^[^/\\.][^/\\]*$/

class FileCatalog implements Catalog {
  readonly uri: string

  constructor(
    private readonly root: LakeStorage,
    private readonly lake: LakeResources,
    private readonly options: TableOptions,
  ) {
    this.uri = root.root
  }

  async listNamespaces(): Promise<Namespace[]> {
    return (await this.root.folders('')).filter((n) => NAME.test(n)).map((n) => [n])
  }

  async listTables(namespace: Namespace): Promise<TableIdentifier[]> {
    const [ns] = this.#namespace(namespace)
    const out: TableIdentifier[] = []
    for (const name of await this.root.folders(ns)) {
      if (!NAME.test(name)) continue
      const id = { namespace: [ns], name }
      if (await hasVersions(await this.#storage(id))) out.push(id)
    }
    return out
  }

  async tableExists(id: TableIdentifier): Promise<boolean> {
    return hasVersions(await this.#storage(id))
  }

  async loadTable(id: TableIdentifier): Promise<Table> {
    const ops = new FileTableOperations(id, await this.#storage(id))
    return new Table(ops, await ops.current(), this.lake, this.options)
  }

  async createTable(id: TableIdentifier, request: CreateTableRequest): Promise<Table> {
    const storage = await this.#storage(id)
    const exists = (): TributaryError =>
      new TributaryError('TRIB_LAKE_EXISTS', `table ${formatIdentifier(id)} already exists at ${storage.root}`, { details: { table: formatIdentifier(id), location: storage.root } })
    if (await loadLatest(storage)) throw exists()
    const metadata = applyCommit(undefined, createCommit(request, storage.root, randomUUID()), { nowMs: Date.now() })
    if (!(await createVersion(storage, 1, serializeMetadata(metadata)))) throw exists()
    return new Table(new FileTableOperations(id, storage), { metadata, file: storage.uri(metadataPath(1)) }, this.lake, this.options)
  }

  async close(): Promise<void> {}

  #namespace(namespace: Namespace): [string] {
    const [ns] = namespace
    if (namespace.length !== 1 || ns === undefined || !NAME.test(ns)) {
      throw new TributaryError('TRIB_LAKE_INVALID_IDENTIFIER', `namespace ${JSON.stringify(namespace)}: the file-system catalog keeps one level, a folder name (no '/', not starting with '.')`, {
        details: { namespace },
      })
    }
    return [ns]
  }

  async #storage(id: TableIdentifier): Promise<LakeStorage> {
    const [ns] = this.#namespace(id.namespace)
    if (!NAME.test(id.name)) {
      throw new TributaryError('TRIB_LAKE_INVALID_IDENTIFIER', `table name ${JSON.stringify(id.name)}: must be a folder name (no '/', not starting with '.')`, { details: { table: id.name } })
    }
    return this.lake.storage.open(joinPath(this.root.root, ns, id.name))
  }
}

/** The file-system convention's operations on the table rooted at `storage` (what FileCatalog hands its tables). */
export const fileTableOperations = (id: TableIdentifier, storage: LakeStorage): TableOperations => new FileTableOperations(id, storage)

/** One table's versions: exclusive create of v<N+1> on top of v<N>, read back when in doubt. */
class FileTableOperations implements TableOperations {
  /** The newest version this table read or wrote: reused while no newer one exists. */
  #known: LoadedMetadata | undefined

  constructor(
    readonly identifier: TableIdentifier,
    readonly storage: LakeStorage,
  ) {}

  async current(): Promise<LoadedMetadata> {
    const loaded = await loadLatest(this.storage, this.#known)
    this.#known = loaded
    if (!loaded) {
      throw new TributaryError('TRIB_LAKE_NOT_FOUND', `no Iceberg table ${formatIdentifier(this.identifier)} at ${this.storage.root} (no metadata/v<N>.metadata.json)`, {
        details: { table: formatIdentifier(this.identifier), location: this.storage.root },
      })
    }
    return loaded
  }

  async commit(base: LoadedMetadata, commit: TableCommit): Promise<LoadedMetadata | undefined> {
    const metadata = applyCommit(base.metadata, commit, { nowMs: Date.now(), baseMetadataFile: base.file })
    const version = versionOf(base.file) + 1
    if (!(await createVersion(this.storage, version, serializeMetadata(metadata)))) return undefined
    this.#known = { metadata, file: this.storage.uri(metadataPath(version)) }
    return this.#known
  }
}
