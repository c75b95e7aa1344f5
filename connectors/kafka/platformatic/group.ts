import { FindCoordinatorKeyTypes, type Base, type Broker } from '@platformatic/kafka'
import type { PartitionOffset, TopicPartition } from '../../../runtime/log/log.ts'
import type { GroupMember } from '../driver.ts'
import { describe, hasType } from '../errors.ts'
import { log } from '../logger.ts'
import type { ResolvedKafkaOptions } from '../options.ts'
import { anyBroker, brokerOf, metadata, request } from './client.ts'

/**
 * kafkajs' protocol name and Kafka's ConsumerProtocol v0 encodings, so a group may hold members of
 * both clients while instances move from one to the other.
 */
const PROTOCOL = 'RoundRobinAssigner'

/** Where the member stands in the group. */
export type MemberState =
  /** Not joined (yet, or after leaving). */
  | 'idle'
  | 'stable'
  /** The coordinator started a rebalance: commit what is pending, then join again. */
  | 'rebalancing'
  /** The coordinator no longer knows this member (expelled, or its generation is over). */
  | 'lost'

const REJOIN = ['REBALANCE_IN_PROGRESS']
const LOST = ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']
const COORDINATOR_MOVED = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']

/**
 * Membership of a consumer group over the classic protocol (JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup), written here rather than taken from the library's consumer: that one rejoins by
 * itself as soon as a heartbeat reports a rebalance, while the Log consumer must first commit what
 * it handed out under the current generation (the coordinator still takes those commits while the
 * rebalance is pending), and only then join again. So the member only reports: `state` turns
 * 'rebalancing' or 'lost', `onChange` runs, and the consumer calls `join()` when it is ready.
 *
 * Heartbeats run on a timer of their own, also while the consumer processes (a stall beyond the
 * session timeout costs the membership, as in Kafka).
 */
export class GroupMembership {
  #state: MemberState = 'idle'
  #memberId = ''
  #generationId = -1
  #coordinator: Promise<Broker> | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(
    private readonly client: Base,
    private readonly options: ResolvedKafkaOptions,
    readonly groupId: string,
    private readonly topics: readonly string[],
    private readonly onChange: () => void,
  ) {}

  get state(): MemberState {
    return this.#state
  }

  /** The generation this member belongs to, for commits the coordinator checks (undefined unless stable or rebalancing). */
  member(): GroupMember | undefined {
    if (this.#state !== 'stable' && this.#state !== 'rebalancing') return undefined
    return { generationId: this.#generationId, memberId: this.#memberId }
  }

  /**
   * Joins (or joins again) and returns this member's partitions of the new generation. Resolves
   * once every member joined, which may take up to the rebalance timeout. Rejects with the
   * library's error when the coordinator cannot be reached or refuses the member.
   */
  async join(): Promise<TopicPartition[]> {
    this.#stopHeartbeats()
    const t = this.options.tuning
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new Error(`consumer group ${this.groupId}: closed while joining`)
      const coordinator = await this.#findCoordinator()
      try {
        const joined = await request<JoinResponse>(
          this.client,
          'JoinGroup',
          coordinator,
          [this.groupId, t.sessionTimeoutMs, t.rebalanceTimeoutMs, this.#memberId, null, 'consumer', [{ name: PROTOCOL, metadata: encodeSubscription(this.topics) }], null],
          true,
        )
        this.#memberId = joined.memberId ?? this.#memberId
        this.#generationId = joined.generationId
        const assignments = joined.leader === this.#memberId ? await this.#assign(joined.members) : []
        const synced = await request<{ assignment: Buffer }>(
          this.client,
          'SyncGroup',
          coordinator,
          [this.groupId, this.#generationId, this.#memberId, null, 'consumer', PROTOCOL, assignments],
          true,
        )
        this.#state = 'stable'
        this.#scheduleHeartbeat()
        const mine = decodeAssignment(synced.assignment).filter((tp) => this.topics.includes(tp.topic))
        log.debug({ group: this.groupId, generation: this.#generationId, member: this.#memberId, partitions: mine.length }, 'joined the consumer group')
        return mine
      } catch (e) {
        const required = memberIdRequired(e)
        if (required !== undefined) this.#memberId = required
        else if (hasType(e, 'UNKNOWN_MEMBER_ID')) this.#memberId = ''
        else if (COORDINATOR_MOVED.some((x) => hasType(e, x))) this.#coordinator = undefined
        else if (!REJOIN.some((x) => hasType(e, x)) && !hasType(e, 'ILLEGAL_GENERATION')) {
          this.#coordinator = undefined
          throw e
        }
        if (attempt >= 20) throw e
      }
    }
  }

  /** Commits the group's offsets under this member's generation (at-least-once). */
  async commitOffsets(offsets: readonly PartitionOffset[], member: GroupMember): Promise<void> {
    const topics = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }>>()
    for (const o of offsets) {
      let list = topics.get(o.topic)
      if (list === undefined) topics.set(o.topic, (list = []))
      list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: null })
    }
    const coordinator = await this.#findCoordinator()
    try {
      await request(this.client, 'OffsetCommit', coordinator, [this.groupId, member.generationId, member.memberId, null, [...topics].map(([name, partitions]) => ({ name, partitions }))])
    } catch (e) {
      if (COORDINATOR_MOVED.some((x) => hasType(e, x))) this.#coordinator = undefined
      this.#noteCommitError(e)
      throw e
    }
  }

  /** Leaves the group (best effort: a member that cannot say so expires after the session timeout). */
  async leave(): Promise<void> {
    this.#stopHeartbeats()
    const wasMember = this.#state !== 'idle' && this.#memberId !== ''
    this.#state = 'idle'
    if (!wasMember) return
    try {
      await request(this.client, 'LeaveGroup', await this.#findCoordinator(), [this.groupId, [{ memberId: this.#memberId, groupInstanceId: null, reason: null }]], true)
    } catch (e) {
      log.debug({ group: this.groupId, cause: describe(e) }, 'leaving the consumer group failed')
    }
    this.#memberId = ''
  }

  async close(): Promise<void> {
    await this.leave()
    this.#closed = true
  }

  #setState(state: MemberState): void {
    if (this.#state === state) return
    this.#state = state
    this.onChange()
  }

  #noteCommitError(e: unknown): void {
    if (LOST.some((x) => hasType(e, x))) this.#setState('lost')
    else if (REJOIN.some((x) => hasType(e, x)) && this.#state === 'stable') this.#setState('rebalancing')
  }

  #findCoordinator(): Promise<Broker> {
    if (this.#coordinator === undefined) {
      const found = (async (): Promise<Broker> => {
        const meta = await metadata(this.client, [])
        const r = await request<{ coordinators: Array<{ nodeId: number }> }>(this.client, 'FindCoordinator', anyBroker(meta), [FindCoordinatorKeyTypes.GROUP, [this.groupId]])
        const node = r.coordinators[0]!.nodeId
        return brokerOf(meta.brokers.has(node) ? meta : await metadata(this.client, [], true), node)
      })()
      found.catch(() => {
        if (this.#coordinator === found) this.#coordinator = undefined
      })
      this.#coordinator = found
    }
    return this.#coordinator
  }

  #scheduleHeartbeat(): void {
    this.#stopHeartbeats()
    if (this.#closed) return
    this.#timer = setTimeout(() => void this.#heartbeat(), this.options.tuning.heartbeatIntervalMs)
    this.#timer.unref()
  }

  #stopHeartbeats(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #heartbeat(): Promise<void> {
    const generation = this.#generationId
    try {
      await request(this.client, 'Heartbeat', await this.#findCoordinator(), [this.groupId, generation, this.#memberId, null], true)
    } catch (e) {
      // A join started meanwhile owns the state now.
      if (this.#timer === undefined || generation !== this.#generationId) return
      if (LOST.some((x) => hasType(e, x))) {
        log.warn({ group: this.groupId, cause: describe(e) }, 'the group expelled this consumer; its uncommitted records go to the next owner')
        this.#stopHeartbeats()
        this.#setState('lost')
        return
      }
      if (REJOIN.some((x) => hasType(e, x))) this.#setState('rebalancing')
      else {
        if (COORDINATOR_MOVED.some((x) => hasType(e, x))) this.#coordinator = undefined
        log.debug({ group: this.groupId, cause: describe(e) }, 'heartbeat failed')
      }
    }
    // Heartbeats go on while a rebalance is pending: they keep the membership alive until the join.
    if (this.#timer !== undefined && generation === this.#generationId) this.#scheduleHeartbeat()
  }

  /**
   * The leader's assignment: the subscribed topic-partitions, sorted, dealt round-robin over the
   * members subscribed to each topic (sorted by member id).
   */
  async #assign(members: JoinResponse['members']): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const subscriptions = new Map(members.map((m) => [m.memberId, decodeSubscription(m.metadata)]))
    const topics = [...new Set([...subscriptions.values()].flat())].sort()
    const meta = await metadata(this.client, topics, true).catch(async () => {
      // A topic some member subscribes to may not exist (yet): assign those that do.
      const known = await Promise.all(topics.map((t) => metadata(this.client, [t], true).then(() => t, () => undefined)))
      return metadata(this.client, known.filter((t): t is string => t !== undefined))
    })
    const ids = [...subscriptions.keys()].sort()
    const plan = new Map<string, Map<string, number[]>>(ids.map((id) => [id, new Map()]))
    let turn = 0
    for (const topic of topics) {
      const count = meta.topics.get(topic)?.partitionsCount ?? 0
      const takers = ids.filter((id) => subscriptions.get(id)!.includes(topic))
      for (let partition = 0; partition < count && takers.length > 0; partition++) {
        const member = plan.get(takers[turn++ % takers.length]!)!
        let list = member.get(topic)
        if (list === undefined) member.set(topic, (list = []))
        list.push(partition)
      }
    }
    return ids.map((memberId) => ({ memberId, assignment: encodeAssignment(plan.get(memberId)!) }))
  }
}

interface JoinResponse {
  generationId: number
  leader: string
  memberId: string | null
  members: Array<{ memberId: string; metadata: Buffer | null }>
}

/** MEMBER_ID_REQUIRED (KIP-394): the first join only gets the member id to join with. */
function memberIdRequired(e: unknown): string | undefined {
  if (!hasType(e, 'MEMBER_ID_REQUIRED')) return undefined
  const id = (e as { response?: { memberId?: string | null } }).response?.memberId
  return id ?? undefined
}

// ConsumerProtocolSubscription v0: version int16, topics [string], user data bytes.
export function encodeSubscription(topics: readonly string[]): Buffer {
  const parts: Buffer[] = [int16(0), int32(topics.length)]
  for (const t of topics) parts.push(string(t))
  parts.push(int32(-1))
  return Buffer.concat(parts)
}

export function decodeSubscription(buffer: Buffer | null): string[] {
  if (buffer === null || buffer.length < 6) return []
  let p = 2
  const n = buffer.readInt32BE(p)
  p += 4
  const topics: string[] = []
  for (let i = 0; i < n; i++) {
    const len = buffer.readInt16BE(p)
    topics.push(buffer.toString('utf8', p + 2, p + 2 + len))
    p += 2 + len
  }
  return topics
}

// ConsumerProtocolAssignment v0: version int16, [topic string, partitions [int32]], user data bytes.
export function encodeAssignment(assignment: ReadonlyMap<string, readonly number[]>): Buffer {
  const parts: Buffer[] = [int16(0), int32(assignment.size)]
  for (const [topic, partitions] of assignment) {
    parts.push(string(topic), int32(partitions.length))
    for (const p of partitions) parts.push(int32(p))
  }
  parts.push(int32(-1))
  return Buffer.concat(parts)
}

export function decodeAssignment(buffer: Buffer | null): TopicPartition[] {
  if (buffer === null || buffer.length < 6) return []
  let p = 2
  const n = buffer.readInt32BE(p)
  p += 4
  const out: TopicPartition[] = []
  for (let i = 0; i < n; i++) {
    const len = buffer.readInt16BE(p)
    const topic = buffer.toString('utf8', p + 2, p + 2 + len)
    p += 2 + len
    const count = buffer.readInt32BE(p)
    p += 4
    for (let k = 0; k < count; k++, p += 4) out.push({ topic, partition: buffer.readInt32BE(p) })
  }
  return out
}

const int16 = (v: number): Buffer => {
  const b = Buffer.alloc(2)
  b.writeInt16BE(v)
  return b
}
const int32 = (v: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(v)
  return b
}
const string = (s: string): Buffer => {
  const bytes = Buffer.from(s, 'utf8')
  return Buffer.concat([int16(bytes.length), bytes])
}
