import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { TributaryError } from '../errors.ts'

/** What /readyz answers: 200 when `ready`, else 503 with the reasons. */
export interface Readiness {
  ready: boolean
  reasons: string[]
  [more: string]: unknown
}

export interface ProbeOptions {
  port: number
  host: string
  /** /healthz fails once the main thread's event loop has not turned for this long. */
  stallMs: number
  /** The readiness the main thread computes; published to the probe thread as it changes. */
  readiness: () => Readiness
}

const BEAT_MS = 200

/**
 * /healthz and /readyz on a port of their own (`http.probePort`), answered by a worker thread, so
 * they stay fast while the main event loop is busy with a batch of synchronous transforms or a
 * large commit, or the machine is saturated: a slow liveness answer gets a healthy container
 * killed. The main thread beats a heart (a timestamp in shared memory, every 200 ms) and publishes
 * its readiness when it changes; /healthz is 200 while the heartbeat is younger than `stallMs`, so
 * a main thread that is stuck for good (a synchronous transform that never returns) still fails
 * liveness; /readyz answers the last readiness published.
 */
export class ProbeListener {
  readonly port: number
  readonly #worker: Worker
  readonly #timer: NodeJS.Timeout

  private constructor(port: number, worker: Worker, timer: NodeJS.Timeout) {
    this.port = port
    this.#worker = worker
    this.#timer = timer
  }

  static async start(options: ProbeOptions): Promise<ProbeListener> {
    const heartbeat = new SharedArrayBuffer(8)
    const beat = new BigInt64Array(heartbeat)
    Atomics.store(beat, 0, BigInt(Date.now()))
    const worker = new Worker(new URL('./probe-thread.js', import.meta.url), { workerData: { heartbeat, port: options.port, host: options.host, stallMs: options.stallMs } })
    worker.unref()
    let published = ''
    const publish = (): void => {
      Atomics.store(beat, 0, BigInt(Date.now()))
      const readiness = options.readiness()
      const text = JSON.stringify(readiness)
      if (text === published) return
      published = text
      worker.postMessage({ readiness })
    }
    const [first] = (await once(worker, 'message')) as [{ listening?: number; error?: string; code?: string }]
    if (first.listening === undefined) {
      await worker.terminate()
      throw new TributaryError('TRIB_CONFIG_INVALID', `http.probePort: cannot listen on ${options.host}:${options.port} (${first.code ?? first.error})`, { details: { path: 'http.probePort' } })
    }
    publish()
    const timer = setInterval(publish, BEAT_MS).unref()
    return new ProbeListener(first.listening, worker, timer)
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.#worker.terminate()
  }
}
