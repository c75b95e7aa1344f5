import { type Base, type BaseOptions, type Broker, type Connection, kGetApi, kGetConnection, kMetadata, kPerformWithRetry, type ClusterMetadata } from '@platformatic/kafka'
import type { ResolvedKafkaOptions } from '../options.ts'

/**
 * What every @platformatic/kafka client of the adapter shares: brokers, TLS, SASL, timeouts and a
 * bounded retry curve. Each client has its own connections, so a long-polling fetch never delays
 * a heartbeat, a produce or a commit queued behind it (a broker answers one connection's requests
 * in order).
 */
export function baseOptions(options: ResolvedKafkaOptions, role: string, retries = options.tuning.retries): BaseOptions {
  const k = options.kafka
  const base: BaseOptions = {
    clientId: `${k.clientId}-${role}`,
    bootstrapBrokers: [...k.brokers],
    connectTimeout: k.connectionTimeoutMs,
    timeout: k.requestTimeoutMs,
    retries,
    // Fine-grained at first, growing by 1.2x to 5 s: a transaction's first request usually meets
    // CONCURRENT_TRANSACTIONS while the previous commit's markers are written (the library's
    // default is a flat second, which the Java client's 20 ms retry would beat by far).
    retryDelay: (_client, _operation, attempt) => Math.min(5_000, Math.round(10 * 1.2 ** attempt)),
    metadataMaxAge: options.tuning.metadataMaxAgeMs,
    autocreateTopics: false,
  }
  if (k.ssl) base.tls = {}
  if (k.sasl !== undefined) base.sasl = { mechanism: mechanisms[k.sasl.mechanism], username: k.sasl.username, password: k.sasl.password }
  return base
}

const mechanisms = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const

type Callback<T> = (error: Error | null, result?: T) => void
type ApiCall = (connection: Connection, ...args: unknown[]) => void

/**
 * One request of a protocol API the library has no client method for (group membership, a
 * fetch we decode ourselves, a TxnOffsetCommit of several partitions), at the highest version the
 * broker and the library share, on the client's connection to `broker`; retried like the
 * library's own requests (retriable errors, the client's retry curve) unless `once`. These are the
 * library's exported protocol functions and client internals (kGetApi, kGetConnection,
 * kPerformWithRetry), which is why its version is pinned.
 */
export function request<T>(client: Base, api: string, broker: Broker, args: unknown[], once = false): Promise<T> {
  const internals = client as unknown as {
    [kGetApi](name: string, cb: Callback<ApiCall>): void
    [kGetConnection](broker: Broker, cb: Callback<Connection>): void
    [kPerformWithRetry](id: string, op: (cb: Callback<T>) => void, cb: Callback<T>, attempt: number): void
  }
  const attempt = (cb: Callback<T>): void =>
    internals[kGetConnection](broker, (error, connection) => {
      if (error) return cb(error)
      internals[kGetApi](api, (apiError, call) => {
        if (apiError) return cb(apiError)
        call!(connection!, ...args, cb)
      })
    })
  return new Promise<T>((resolve, reject) => {
    const done: Callback<T> = (e, result) => (e ? reject(e) : resolve(result as T))
    if (once) attempt(done)
    else internals[kPerformWithRetry](api, attempt, done, 0)
  })
}

/** The cluster's metadata for the topics, from the client's cache unless `force`. */
export function metadata(client: Base, topics: string[], force = false): Promise<ClusterMetadata> {
  return new Promise((resolve, reject) => {
    const internals = client as unknown as { [kMetadata](options: object, cb: Callback<ClusterMetadata>): void }
    internals[kMetadata]({ topics, forceUpdate: force }, (error, result) => (error ? reject(error) : resolve(result!)))
  })
}

/** Some broker of the cluster (for requests any broker answers: FindCoordinator). */
export function anyBroker(meta: ClusterMetadata): Broker {
  const b = meta.brokers.values().next().value
  if (b === undefined) throw new Error('the cluster metadata lists no broker')
  return { host: b.host, port: b.port }
}

/** The broker of a node id in the metadata. */
export function brokerOf(meta: ClusterMetadata, node: number): Broker {
  const b = meta.brokers.get(node)
  if (b === undefined) throw new Error(`node ${node} is not in the cluster metadata (brokers ${[...meta.brokers.keys()].join(', ')})`)
  return { host: b.host, port: b.port }
}
