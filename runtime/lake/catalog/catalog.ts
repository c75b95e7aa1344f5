import type { CreateTableRequest } from '../iceberg/create.ts'
import type { Table } from '../table.ts'
import type { Namespace, TableIdentifier } from './identifier.ts'

/**
 * The Iceberg catalog seam: finds tables by identifier (namespace + name), creates them, lists
 * them. Commits go through the loaded table (`table.commit({ requirements, updates })`, the commit
 * format of the REST catalog spec), which commits through the catalog's TableOperations
 * (operations.ts). Implementations: the file-system convention (`<lake>/<namespace>/<name>`,
 * file.ts); an Iceberg REST catalog client next. Tributary's tables: namespace = product, name =
 * output port (or `dlq`).
 *
 * Contract (test/contract/catalog.contract.ts runs it against every implementation):
 * - `listNamespaces` lists the top-level namespaces, sorted; an empty lake lists none.
 * - `listTables` lists the tables of one namespace, sorted by name; an unknown namespace lists
 *   none. A table is listed whether or not its metadata can be read (listing reads no metadata),
 *   so one damaged table never hides the others.
 * - `tableExists` says whether `loadTable` would find a table (without reading its metadata).
 * - `loadTable` reads the table's latest metadata: TRIB_LAKE_NOT_FOUND when there is none,
 *   TRIB_LAKE_CORRUPT (naming the file) when it is unreadable.
 * - `createTable` creates the table with the request's schema, partition spec and properties, at
 *   a location the catalog chooses, and never replaces an existing one: TRIB_LAKE_EXISTS, also
 *   when another process creates it at the same moment.
 * - An identifier the catalog cannot hold is TRIB_LAKE_INVALID_IDENTIFIER.
 * - `close` releases what the catalog itself holds (connections), not the lake resources it was
 *   given (the runtime closes those).
 */
export interface Catalog {
  /** Where the catalog is, for messages: the lake root URI, or the REST endpoint. */
  readonly uri: string
  listNamespaces(): Promise<Namespace[]>
  listTables(namespace: Namespace): Promise<TableIdentifier[]>
  tableExists(id: TableIdentifier): Promise<boolean>
  loadTable(id: TableIdentifier): Promise<Table>
  createTable(id: TableIdentifier, request: CreateTableRequest): Promise<Table>
  close(): Promise<void>
}
