/** An Iceberg namespace, outermost level first (the file-system catalog keeps one level: the product). */
export type Namespace = readonly string[]

/** A table by name, as a catalog finds it (Iceberg's TableIdentifier). */
export interface TableIdentifier {
  readonly namespace: Namespace
  readonly name: string
}

export const tableId = (namespace: string | Namespace, name: string): TableIdentifier => ({
  namespace: typeof namespace === 'string' ? [namespace] : [...namespace],
  name,
})

/** `<namespace>.<name>` (levels joined by dots), as queries, commands and messages name a table. */
export const formatIdentifier = (id: TableIdentifier): string => [...id.namespace, id.name].join('.')
