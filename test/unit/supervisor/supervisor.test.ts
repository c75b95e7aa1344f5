import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { TributaryError, type ErrorCode } from '../../../runtime/errors.ts'
import type { Runnable } from '../../../runtime/supervisor/runnable.ts'
import { Supervisor } from '../../../runtime/supervisor/supervisor.ts'
import { until } from '../../helpers/products.ts'

/**
 * The supervisor's decisions over scripted runnables (pure logic: the real processor and sink run
 * under it in test/e2e/supervision.test.ts). A script lists what each run or step does in turn:
 * a number of records, or an error code to throw.
 */
class Scripted implements Runnable {
  readonly events: string[] = []
  steps = 0
  #stop = false
  #open = false
  constructor(
    readonly name: string,
    private readonly script: Array<number | ErrorCode> = [],
    private readonly startScript: ErrorCode[] = [],
  ) {}
  async start(): Promise<void> {
    this.events.push('start')
    const fail = this.startScript.shift()
    this.#open = true
    if (fail) throw new TributaryError(fail, `${this.name} could not start`)
    this.#stop = false
  }
  async step(): Promise<number> {
    if (!this.#open) throw new Error(`${this.name} stepped while closed`)
    this.steps++
    const next = this.script.shift() ?? 0
    if (typeof next === 'string') throw new TributaryError(next, `${this.name} failed with ${next}`)
    return next
  }
  idle(): boolean {
    return this.script.length === 0
  }
  async run(onBatch?: (n: number) => void): Promise<void> {
    this.events.push('run')
    while (!this.#stop) {
      const n = await this.step()
      if (n > 0) onBatch?.(n)
      await sleep(2)
    }
  }
  requestStop(): void {
    this.#stop = true
  }
  async close(): Promise<void> {
    this.#stop = true
    this.#open = false
    this.events.push('close')
  }
}

const fast = { backoff: { initialDelayMs: 5, maxDelayMs: 20 } }

describe('Supervisor, running until stopped', () => {
  it('retires one product (a retired major): its runnables stop and close, it is not a failure, and the others keep going', async () => {
    const old = new Scripted('v1')
    const oldTable = new Scripted('v1.table')
    const other = new Scripted('v2')
    const supervisor = new Supervisor(
      [
        { name: 'p', runnables: [old, oldTable] },
        { name: 'p.v2', runnables: [other] },
      ],
      fast,
    )
    const abort = new AbortController()
    const running = supervisor.run({ signal: abort.signal })
    await until('both running', () => supervisor.status().every((s) => s.state === 'running'))
    supervisor.retire('p')
    await until('p closed', () => old.events.at(-1) === 'close' && oldTable.events.at(-1) === 'close')
    const stepsBefore = other.steps
    await until('p.v2 still stepping', () => other.steps > stepsBefore + 5)
    expect(supervisor.status().map((s) => [s.product, s.state])).toEqual([
      ['p', 'retired'],
      ['p.v2', 'running'],
    ])
    expect(supervisor.stopped()).toEqual([])
    abort.abort()
    await running
    expect(old.events).toEqual(['start', 'run', 'close'])
    expect(other.events).toEqual(['start', 'run', 'close'])
  })

  it('restarts a runnable that fails with a retriable error, counts it, and leaves the other products alone', async () => {
    const flaky = new Scripted('a.table', [1, 'TRIB_LAKE_STORAGE', 1, 'TRIB_LAKE_STORAGE'])
    const steady = new Scripted('b')
    const supervisor = new Supervisor(
      [
        { name: 'a', runnables: [new Scripted('a'), flaky] },
        { name: 'b', runnables: [steady] },
      ],
      fast,
    )
    const abort = new AbortController()
    const running = supervisor.run({ signal: abort.signal })
    await until('two restarts', () => flaky.events.filter((e) => e === 'start').length === 3)
    await until('a running state', () => supervisor.status().every((s) => s.state === 'running' && s.restarting.length === 0))
    const stepsBefore = steady.steps
    await until('b still stepping', () => steady.steps > stepsBefore + 5)
    abort.abort()
    await running
    expect(flaky.events).toEqual(['start', 'run', 'close', 'start', 'run', 'close', 'start', 'run', 'close'])
    // b ran once, all along: never restarted.
    expect(steady.events).toEqual(['start', 'run', 'close'])
    expect(supervisor.restarts()).toEqual([{ product: 'a', runnable: 'a.table', code: 'TRIB_LAKE_STORAGE', count: 2 }])
    expect(supervisor.stopped()).toEqual([])
  })

  it('stops only the product whose runnable fails with a non-retriable error, closing all of its runnables', async () => {
    const processor = new Scripted('a')
    const table = new Scripted('a.table', [1, 'TRIB_LAKE_CORRUPT'])
    const other = new Scripted('b')
    const supervisor = new Supervisor(
      [
        { name: 'a', runnables: [processor, table] },
        { name: 'b', runnables: [other] },
      ],
      fast,
    )
    const abort = new AbortController()
    const running = supervisor.run({ signal: abort.signal })
    await until('a stopped', () => supervisor.status()[0]!.state === 'stopped')
    // Its processor was asked to stop and closed too, right away.
    await until('a closed', () => processor.events.includes('close'))
    const stepsBefore = other.steps
    await until('b still stepping', () => other.steps > stepsBefore + 5)
    expect(supervisor.status()).toEqual([
      { product: 'a', state: 'stopped', stopped: { runnable: 'a.table', code: 'TRIB_LAKE_CORRUPT', message: 'a.table failed with TRIB_LAKE_CORRUPT', at: expect.any(Number) }, restarting: [] },
      { product: 'b', state: 'running', restarting: [] },
    ])
    abort.abort()
    await running
    expect(table.events).toEqual(['start', 'run', 'close'])
    expect(processor.events).toEqual(['start', 'run', 'close'])
    expect(other.events).toEqual(['start', 'run', 'close'])
    expect(supervisor.restarts()).toEqual([])
    expect(supervisor.stopped().map((s) => [s.product, s.code, s.error.code])).toEqual([['a', 'TRIB_LAKE_CORRUPT', 'TRIB_LAKE_CORRUPT']])
  })

  it('resumes, without closing, a runnable whose error says it rewound to its last commit', async () => {
    const rebalanced = new Scripted('a', [1, 'TRIB_LOG_REBALANCED', 1])
    const supervisor = new Supervisor([{ name: 'a', runnables: [rebalanced] }], fast)
    const abort = new AbortController()
    const running = supervisor.run({ signal: abort.signal })
    await until('the second run', () => rebalanced.events.filter((e) => e === 'run').length === 2)
    abort.abort()
    await running
    expect(rebalanced.events).toEqual(['start', 'run', 'run', 'close'])
    expect(supervisor.restarts()).toEqual([{ product: 'a', runnable: 'a', code: 'TRIB_LOG_REBALANCED', count: 1 }])
  })

  it('retries a start that fails with a retriable error; a start that fails for good stops the product', async () => {
    const late = new Scripted('a', [], ['TRIB_KAFKA_UNAVAILABLE', 'TRIB_KAFKA_UNAVAILABLE'])
    const broken = new Scripted('b', [], ['TRIB_TRANSFORM_INVALID'])
    const supervisor = new Supervisor(
      [
        { name: 'a', runnables: [late] },
        { name: 'b', runnables: [broken] },
      ],
      fast,
    )
    const abort = new AbortController()
    const running = supervisor.run({ signal: abort.signal })
    await until('a running', () => supervisor.status()[0]!.state === 'running')
    await until('b stopped', () => supervisor.status()[1]!.state === 'stopped')
    abort.abort()
    await running
    expect(late.events).toEqual(['start', 'close', 'start', 'close', 'start', 'run', 'close'])
    // A failed start may hold resources: it is closed.
    expect(broken.events).toEqual(['start', 'close'])
    expect(supervisor.status()[1]!.stopped!.code).toBe('TRIB_TRANSFORM_INVALID')
  })

  it('gives a product up after maxRestarts restarts in a row', async () => {
    const hopeless = new Scripted('a', ['TRIB_LAKE_STORAGE', 'TRIB_LAKE_STORAGE', 'TRIB_LAKE_STORAGE', 'TRIB_LAKE_STORAGE'])
    const supervisor = new Supervisor([{ name: 'a', runnables: [hopeless] }], { ...fast, maxRestarts: 2 })
    await supervisor.run({ signal: new AbortController().signal })
    expect(hopeless.events.filter((e) => e === 'start')).toHaveLength(3)
    expect(supervisor.stopped().map((s) => s.code)).toEqual(['TRIB_LAKE_STORAGE'])
    expect(supervisor.restarts()[0]!.count).toBe(2)
  })

  it('an abort ends a backoff at once', async () => {
    const down = new Scripted('a', ['TRIB_LAKE_STORAGE'])
    const supervisor = new Supervisor([{ name: 'a', runnables: [down] }], { backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 } })
    const abort = new AbortController()
    const running = supervisor.run({ signal: abort.signal })
    await until('waiting to restart', () => supervisor.status()[0]!.restarting.length === 1)
    expect(supervisor.status()[0]!.restarting[0]).toMatchObject({ runnable: 'a', code: 'TRIB_LAKE_STORAGE' })
    const started = Date.now()
    abort.abort()
    await running
    expect(Date.now() - started).toBeLessThan(1_000)
  })
})

describe('Supervisor, until idle', () => {
  it('drains in waves, restarting on retriable errors and stopping a product on others, to the end', async () => {
    const a = new Scripted('a', [3, 'TRIB_LOG_LOCKED', 2])
    const aTable = new Scripted('a.table', [5])
    const b = new Scripted('b', [1, 'TRIB_DECODE_AVRO', 7])
    const bTable = new Scripted('b.table', [4, 4])
    const c = new Scripted('c', [2, 2])
    const supervisor = new Supervisor(
      [
        { name: 'a', runnables: [a, aTable] },
        { name: 'b', runnables: [b, bTable] },
        { name: 'c', runnables: [c] },
      ],
      fast,
    )
    const batches: Array<[string, number]> = []
    await supervisor.run({ untilIdle: true, onBatch: (r, n) => batches.push([r.name, n]) })
    expect(batches.filter(([n]) => n === 'a').map(([, k]) => k)).toEqual([3, 2])
    expect(batches.filter(([n]) => n === 'c').map(([, k]) => k)).toEqual([2, 2])
    // b stopped at its error: its table (started with everything before the first wave) stopped with it, before reading anything.
    expect(batches.some(([n]) => n === 'b.table')).toBe(false)
    expect(b.events).toEqual(['start', 'close'])
    expect(bTable.events).toEqual(['start', 'close'])
    expect(a.events).toEqual(['start', 'close', 'start', 'close'])
    expect(supervisor.stopped().map((s) => [s.product, s.runnable, s.code])).toEqual([['b', 'b', 'TRIB_DECODE_AVRO']])
    expect(supervisor.restarts()).toEqual([{ product: 'a', runnable: 'a', code: 'TRIB_LOG_LOCKED', count: 1 }])
  })

  it('gives a product up after 10 restarts in a row by default, so a run ends', async () => {
    const down = new Scripted('a', Array.from({ length: 20 }, () => 'TRIB_LAKE_STORAGE' as const))
    const supervisor = new Supervisor([{ name: 'a', runnables: [down] }], { backoff: { initialDelayMs: 1, maxDelayMs: 2 } })
    await supervisor.run({ untilIdle: true })
    expect(supervisor.restarts()).toEqual([{ product: 'a', runnable: 'a', code: 'TRIB_LAKE_STORAGE', count: 10 }])
    expect(supervisor.stopped().map((s) => s.code)).toEqual(['TRIB_LAKE_STORAGE'])
  })

  it('never throws for a stopped product and closes whatever started', async () => {
    const broken = new Scripted('a', [], ['TRIB_SPEC_INVALID'])
    const fine = new Scripted('b', [1])
    const supervisor = new Supervisor(
      [
        { name: 'a', runnables: [broken] },
        { name: 'b', runnables: [fine] },
      ],
      fast,
    )
    await supervisor.run({ untilIdle: true })
    expect(fine.events).toEqual(['start', 'close'])
    expect(broken.events).toEqual(['start', 'close'])
    expect(supervisor.status().map((s) => s.state)).toEqual(['stopped', 'running'])
  })
})
