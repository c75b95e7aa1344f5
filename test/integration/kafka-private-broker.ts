import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort, repoRoot } from '../helpers/runtime.ts'
import { portOpen } from './kafka-support.ts'

const run = promisify(execFile)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const libs = path.join(repoRoot, '.cache/kafka/libs')

/**
 * A KRaft broker of its own for a test that stops and restarts it: the same jars and settings as
 * test/infra/infra.sh, on free ports and a temporary data folder. Restarting the shared broker
 * would break other test files running at the same time, and infra.sh's start is not safe against
 * a concurrent start from another run while the port is closed.
 */
export class PrivateBroker {
  private child: ChildProcess | undefined

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly saslPort: number | undefined,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`
  }

  /** The SASL_PLAINTEXT (PLAIN) listener, when created with `sasl`. */
  get saslAddress(): string {
    if (this.saslPort === undefined) throw new Error('this broker has no SASL listener')
    return `127.0.0.1:${this.saslPort}`
  }

  /** With `sasl`, a second listener takes SASL/PLAIN with that one user. */
  static async create(options: { sasl?: { username: string; password: string } } = {}): Promise<PrivateBroker> {
    if (!fs.existsSync(path.join(libs, '.complete'))) throw new Error(`Kafka jars missing in ${libs}: run \`npm run infra:up\` first`)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-kafka-'))
    const port = await freePort()
    let controller = await freePort()
    while (controller === port) controller = await freePort()
    let saslPort: number | undefined
    if (options.sasl) do saslPort = await freePort()
    while (saslPort === port || saslPort === controller)
    const sasl = options.sasl
    const jaas = sasl && `org.apache.kafka.common.security.plain.PlainLoginModule required username="${sasl.username}" password="${sasl.password}" user_${sasl.username}="${sasl.password}";`
    fs.writeFileSync(
      path.join(dir, 'server.properties'),
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controller}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}${sasl ? `,SASL_PLAINTEXT://127.0.0.1:${saslPort}` : ''}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${sasl ? `,SASL_PLAINTEXT://127.0.0.1:${saslPort}` : ''}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
        ...(sasl ? ['sasl.enabled.mechanisms=PLAIN', `listener.name.sasl_plaintext.plain.sasl.jaas.config=${jaas}`] : []),
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${path.join(dir, 'data')}`,
        'num.partitions=3',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=10',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=10',
        'group.initial.rebalance.delay.ms=0',
        'log.retention.hours=-1',
        '',
      ].join('\n'),
    )
    fs.writeFileSync(path.join(dir, 'log4j.properties'), 'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n')
    // Like Kafka's own random-uuid: never a leading '-', which the tool's parser takes for an option.
    const clusterId = `A${randomBytes(16).toString('base64url').slice(1)}`
    await run('java', ['-cp', `${libs}/*`, `-Dlog4j.configuration=file:${dir}/log4j.properties`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', path.join(dir, 'server.properties')])
    const broker = new PrivateBroker(dir, port, saslPort)
    await broker.start()
    return broker
  }

  async start(): Promise<void> {
    const out = fs.openSync(path.join(this.dir, 'kafka.log'), 'a')
    this.child = spawn(
      'java',
      ['-Xms128m', '-Xmx512m', '-cp', `${libs}/*`, `-Dlog4j.configuration=file:${this.dir}/log4j.properties`, 'kafka.Kafka', path.join(this.dir, 'server.properties')],
      { stdio: ['ignore', out, out] },
    )
    fs.closeSync(out)
    const deadline = Date.now() + 120_000
    while (!(await portOpen('127.0.0.1', this.port))) {
      if (this.child.exitCode !== null) throw new Error(`private Kafka exited during start-up: ${this.logTail()}`)
      if (Date.now() > deadline) throw new Error(`private Kafka did not open port ${this.port}: ${this.logTail()}`)
      await sleep(250)
    }
  }

  /** SIGTERM (a clean shutdown), waiting until the process is gone. */
  async stop(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    await exited
    clearTimeout(timer)
  }

  async destroy(): Promise<void> {
    await this.stop()
    fs.rmSync(this.dir, { recursive: true, force: true })
  }

  private logTail(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'kafka.log'), 'utf8').slice(-2000)
    } catch {
      return '(no log)'
    }
  }
}
