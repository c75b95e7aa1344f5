/**
 * The embedded schema registry: Confluent semantics on local disk, plus the Confluent REST API so
 * third-party clients can use it.
 */
export { type EmbeddedRegistry, type EmbeddedRegistryOptions, openEmbeddedRegistry, openMemoryRegistry } from './registry.ts'
export { CONTENT_TYPE, type RegistryHttpOptions, type ServeOptions, createRegistryHttpHandler, registryMount, serveRegistry } from './http.ts'
