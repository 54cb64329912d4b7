// The single broker's session store (README "Scaling", "What happens when things fail").
// Durability of readings comes from the agents' outboxes and the ingestor's end-to-end
// confirmation, not from this store: a QoS 1 message the broker loses is sent again by its
// agent after agent.outbox.confirmTimeoutMs. So the store keeps on disk only what a broker
// restart must not forget and what changes at the pace of connections, not of messages:
//
//   on disk (LevelDB under dataDir/state, read into memory at start):
//     subscriptions of persistent sessions (the ingestor's machmon/+/+: messages that arrive
//     after a restart, before the ingestor is back, are queued for it instead of going
//     nowhere), retained messages (every host's online/offline status) and Last Wills (a
//     host that does not come back after a broker crash still gets its "offline").
//   in memory only, bounded:
//     the QoS 1 queues of persistent sessions (at most maxQueuedMessages each; past that a
//     message is not queued for that session, counted and logged) and QoS 2 state.
//
// Every read is answered from memory; disk writes are batched per event-loop turn
// (write-behind), so none is on the path of a message. Replaces aedes-persistence-level,
// which put, numbered and deleted every QoS 1 message in LevelDB (over half of the
// broker's CPU) and decoded every retained message on every SUBSCRIBE (quadratic connects).
// Implements Aedes' abstract persistence; aedes-persistence's own abstract test suite runs
// against it (test/integration/broker/fleet-persistence.test.ts).
import { Readable } from 'node:stream';
import aedesPacket from 'aedes-packet';
import { Level } from 'level';
import { QlobberTrue } from 'qlobber';
import QlobberSub from 'qlobber/aedes/qlobber-sub.js';

/** aedes-packet's constructor (its typings declare a namespace, the module exports the function). */
const Packet = aedesPacket as unknown as new (p: StoredPacket) => StoredPacket;

const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/', match_empty_levels: true };

/** What Aedes hands a persistence: a packet (publish, or pubrel in the outgoing queue). */
export interface StoredPacket {
  cmd?: string;
  topic: string;
  payload: Buffer | string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
  properties?: Record<string, unknown>;
  [key: string]: unknown;
}

interface ClientRef { readonly id: string }
interface Subscription { topic: string; qos: number; rh?: number; rap?: number; nl?: number; subscriptionIdentifier?: number }
type SubscriptionRecord = Omit<Subscription, 'topic'>;
interface BrokerRef { readonly id: string; counter: number }

export interface FleetPersistenceOptions {
  /** LevelDB directory for subscriptions, retained messages and wills; unset: memory only (tests). */
  dir?: string;
  /** Messages queued for one persistent session, at most. */
  maxQueuedMessages: number;
  /** Told when a message is not queued for a session because its queue is full (rate-limit your logging). */
  onQueueFull?: (clientId: string, queued: number) => void;
}

/** One session's QoS 1/2 queue: insertion order, O(1) by broker counter and by message id. */
class OutgoingQueue {
  readonly byKey = new Map<string, StoredPacket>();
  readonly keyByMessageId = new Map<number, string>();
}

const keyOf = (p: StoredPacket) => `${p.brokerId ?? ''}:${p.brokerCounter ?? 0}`;
const hasWildcard = (pattern: string) => pattern.includes('+') || pattern.includes('#');

/** Disk keys: r!<topic>, w!<clientId>, s!<clientId>. */
const RETAINED = 'r!';
const WILL = 'w!';
const SUBS = 's!';

function encodePacket(p: StoredPacket): string {
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
  return JSON.stringify({ ...p, payload: payload.toString('base64') });
}

function decodePacket(s: string): StoredPacket {
  const raw = JSON.parse(s) as StoredPacket & { payload: string };
  return { ...raw, payload: Buffer.from(raw.payload, 'base64') };
}

export class FleetPersistence {
  readonly #opts: FleetPersistenceOptions;
  readonly #db: Level<string, string> | undefined;
  /** topic -> packet: an exact SUBSCRIBE (every agent's confirm topic) is one lookup. */
  readonly #retained = new Map<string, StoredPacket>();
  readonly #subscriptions = new Map<string, Map<string, SubscriptionRecord>>();
  readonly #trie = new QlobberSub(QLOBBER_OPTIONS);
  readonly #outgoing = new Map<string, OutgoingQueue>();
  readonly #incoming = new Map<string, Map<number, StoredPacket>>();
  readonly #wills = new Map<string, StoredPacket>();
  #clientsCount = 0;
  #broker: BrokerRef | undefined;
  #destroyed = false;
  /** Disk writes of this turn (value null: delete), flushed in one batch. */
  #pending = new Map<string, string | null>();
  #flushScheduled = false;
  #flushing: Promise<void> = Promise.resolve();
  #writeError: unknown;
  /** Messages not queued because a session's queue was full, since start. */
  droppedTotal = 0;

  constructor(opts: FleetPersistenceOptions) {
    this.#opts = opts;
    if (opts.dir) this.#db = new Level<string, string>(opts.dir, { valueEncoding: 'utf8' });
  }

  get broker(): BrokerRef | undefined {
    return this.#broker;
  }

  /** Opens the store (throws when another process holds it) and reads it into memory. */
  async open(): Promise<void> {
    if (!this.#db) return;
    await this.#db.open();
    for await (const [key, value] of this.#db.iterator()) {
      if (key.startsWith(RETAINED)) this.#retained.set(key.slice(RETAINED.length), decodePacket(value));
      else if (key.startsWith(WILL)) this.#wills.set(key.slice(WILL.length), decodePacket(value));
      else if (key.startsWith(SUBS)) {
        const clientId = key.slice(SUBS.length);
        const subs = JSON.parse(value) as Subscription[];
        this.#addSubs(clientId, subs);
      }
    }
  }

  /** QoS 1/2 messages queued now per persistent session (one with stored subscriptions, the ingestor's), and per other session with a queue. */
  queuedBySession(): Map<string, number> {
    const out = new Map<string, number>();
    for (const clientId of this.#subscriptions.keys()) out.set(clientId, 0);
    for (const [clientId, q] of this.#outgoing) out.set(clientId, q.byKey.size);
    return out;
  }

  get retainedCount(): number {
    return this.#retained.size;
  }

  /** The client ids of the persistent sessions with subscriptions (after open: those found on disk, such as the ingestor's). */
  sessionIds(): string[] {
    return [...this.#subscriptions.keys()];
  }

  /** Counts for logs and tests. */
  stats() {
    let queued = 0;
    for (const q of this.#outgoing.values()) queued += q.byKey.size;
    return { retained: this.#retained.size, wills: this.#wills.size, sessions: this.#subscriptions.size, queued, droppedTotal: this.droppedTotal };
  }

  async setup(broker: BrokerRef): Promise<void> {
    this.#broker = broker;
    if (this.#db && this.#db.status !== 'open') await this.open();
  }

  // --- retained -----------------------------------------------------------------------

  async storeRetained(pkt: StoredPacket): Promise<void> {
    const packet = { ...pkt };
    if (packet.payload.length === 0) {
      this.#retained.delete(packet.topic);
      this.#write(RETAINED + packet.topic, null);
    } else {
      this.#retained.set(packet.topic, packet);
      this.#write(RETAINED + packet.topic, encodePacket(packet));
    }
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.#retainedMatching(patterns));
  }

  createRetainedStream(pattern: string): Readable {
    return Readable.from(this.#retainedMatching([pattern]));
  }

  /** An exact topic is one map lookup; a wildcard pattern (a reader's machmon/+/+) walks the retained set once. */
  *#retainedMatching(patterns: string[]): Generator<StoredPacket> {
    for (const pattern of patterns) {
      if (!hasWildcard(pattern)) {
        const p = this.#retained.get(pattern);
        if (p) yield p;
        continue;
      }
      const q = new QlobberTrue(QLOBBER_OPTIONS);
      q.add(pattern);
      for (const [topic, packet] of this.#retained) if (q.test(topic)) yield packet;
    }
  }

  // --- subscriptions ------------------------------------------------------------------

  #addSubs(clientId: string, subs: Subscription[]) {
    let stored = this.#subscriptions.get(clientId);
    if (!stored) {
      stored = new Map();
      this.#subscriptions.set(clientId, stored);
      this.#clientsCount++;
    }
    for (const sub of subs) {
      const previous = stored.get(sub.topic);
      const record: SubscriptionRecord = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
      if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier;
      if (sub.qos > 0) this.#trie.add(sub.topic, { clientId, topic: sub.topic, qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl });
      else if (previous && previous.qos > 0) this.#trie.remove(sub.topic, { clientId, topic: sub.topic });
      stored.set(sub.topic, record);
    }
  }

  #saveSubs(clientId: string) {
    const stored = this.#subscriptions.get(clientId);
    this.#write(SUBS + clientId, stored ? JSON.stringify([...stored].map(([topic, r]) => ({ topic, ...r }))) : null);
  }

  async addSubscriptions(client: ClientRef, subs: Subscription[]): Promise<void> {
    this.#addSubs(client.id, subs);
    this.#saveSubs(client.id);
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    const stored = this.#subscriptions.get(client.id);
    if (!stored) return;
    for (const topic of topics) {
      const sub = stored.get(topic);
      if (sub === undefined) continue;
      if (sub.qos > 0) this.#trie.remove(topic, { clientId: client.id, topic });
      stored.delete(topic);
    }
    if (stored.size === 0) {
      this.#clientsCount--;
      this.#subscriptions.delete(client.id);
    }
    this.#saveSubs(client.id);
  }

  async subscriptionsByClient(client: ClientRef): Promise<Subscription[]> {
    const stored = this.#subscriptions.get(client.id);
    return stored ? [...stored].map(([topic, r]) => ({ topic, ...r })) : [];
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return { subsCount: this.#trie.subscriptionsCount, clientsCount: this.#clientsCount };
  }

  async subscriptionsByTopic(topic: string): Promise<{ clientId: string; topic: string; qos: number }[]> {
    return this.#trie.match(topic);
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    const stored = this.#subscriptions.get(client.id);
    if (!stored) return;
    for (const [topic, sub] of stored) if (sub.qos > 0) this.#trie.remove(topic, { clientId: client.id, topic });
    this.#clientsCount--;
    this.#subscriptions.delete(client.id);
    this.#saveSubs(client.id);
  }

  getClientList(topic: string): Readable {
    const subs = this.#subscriptions;
    return Readable.from((function* () {
      for (const [clientId, topics] of subs) if (topics.has(topic)) yield clientId;
    })());
  }

  // --- outgoing queues (memory, bounded) -----------------------------------------------

  #enqueue(clientId: string, packet: StoredPacket) {
    let q = this.#outgoing.get(clientId);
    if (!q) this.#outgoing.set(clientId, (q = new OutgoingQueue()));
    if (q.byKey.size >= this.#opts.maxQueuedMessages) {
      this.droppedTotal++;
      this.#opts.onQueueFull?.(clientId, q.byKey.size);
      return;
    }
    const p = new Packet(packet);
    q.byKey.set(keyOf(p), p);
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    this.#enqueue(sub.clientId, packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: StoredPacket): Promise<void> {
    for (const sub of subs) this.#enqueue(sub.clientId, packet);
  }

  /**
   * A publish being sent gets its message id; a pubrel replaces the publish of its id. A
   * publish that is not queued (its session's queue was full) is sent untracked: Aedes
   * would otherwise drop the whole connection on the error.
   */
  async outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void> {
    const q = this.#outgoing.get(client.id);
    if (packet.brokerId) {
      const key = keyOf(packet);
      const queued = q?.byKey.get(key);
      if (queued) {
        if (queued.messageId !== undefined && q!.keyByMessageId.get(queued.messageId) === key) q!.keyByMessageId.delete(queued.messageId);
        queued.messageId = packet.messageId;
        if (packet.messageId !== undefined) q!.keyByMessageId.set(packet.messageId, key);
        return;
      }
    }
    if (packet.messageId !== undefined && q) {
      const key = q.keyByMessageId.get(packet.messageId);
      if (key !== undefined) {
        q.byKey.set(key, packet); // same key: keeps its place in the queue
        return;
      }
    }
    if (packet.brokerId && packet.cmd !== 'pubrel') return; // not queued (queue full): sent untracked
    throw new Error('no such packet');
  }

  async outgoingClearMessageId(client: ClientRef, packet: { messageId?: number }): Promise<StoredPacket | undefined> {
    const q = this.#outgoing.get(client.id);
    if (!q || packet.messageId === undefined) return undefined;
    const key = q.keyByMessageId.get(packet.messageId);
    if (key === undefined) return undefined;
    q.keyByMessageId.delete(packet.messageId);
    const p = q.byKey.get(key);
    q.byKey.delete(key);
    if (q.byKey.size === 0) this.#outgoing.delete(client.id);
    return p;
  }

  outgoingStream(client: ClientRef): Readable {
    const q = this.#outgoing.get(client.id);
    return Readable.from(q ? [...q.byKey.values()] : []);
  }

  // --- incoming QoS 2 (memory) ---------------------------------------------------------

  async incomingStorePacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    let store = this.#incoming.get(client.id);
    if (!store) this.#incoming.set(client.id, (store = new Map()));
    const p = new Packet(packet);
    p.messageId = packet.messageId;
    store.set(packet.messageId!, p);
  }

  async incomingGetPacket(client: ClientRef, packet: { messageId?: number }): Promise<StoredPacket> {
    const p = this.#incoming.get(client.id)?.get(packet.messageId!);
    if (!p) throw new Error('no such packet');
    return p;
  }

  async incomingDelPacket(client: ClientRef, packet: { messageId?: number }): Promise<void> {
    const store = this.#incoming.get(client.id);
    if (!store?.delete(packet.messageId!)) throw new Error('no such packet');
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    this.#incoming.delete(client.id);
  }

  // --- wills (disk) --------------------------------------------------------------------

  async putWill(client: ClientRef, packet: StoredPacket): Promise<void> {
    packet.brokerId = this.#broker?.id;
    packet.clientId = client.id;
    this.#wills.set(client.id, packet);
    this.#write(WILL + client.id, encodePacket(packet));
  }

  async getWill(client: ClientRef): Promise<StoredPacket | undefined> {
    return this.#wills.get(client.id);
  }

  async delWill(client: ClientRef): Promise<StoredPacket | undefined> {
    const will = this.#wills.get(client.id);
    if (will) {
      this.#wills.delete(client.id);
      this.#write(WILL + client.id, null);
    }
    return will;
  }

  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const wills = this.#wills;
    return Readable.from((function* () {
      for (const will of wills.values()) if (!brokers[will.brokerId ?? '']) yield will;
    })());
  }

  // --- disk ----------------------------------------------------------------------------

  #write(key: string, value: string | null) {
    if (!this.#db || this.#destroyed) return;
    this.#pending.set(key, value);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      void this.flush();
    });
  }

  /** Writes what changed since the last flush; resolves once it is in LevelDB. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (!this.#db || this.#pending.size === 0 || this.#db.status !== 'open') return;
      const ops = [...this.#pending].map(([key, value]) => (value === null ? { type: 'del' as const, key } : { type: 'put' as const, key, value }));
      this.#pending = new Map();
      try {
        await this.#db.batch(ops);
      } catch (err) {
        this.#writeError = err;
      }
    });
    return this.#flushing;
  }

  /** The last disk write error, if any (the broker logs it). */
  takeWriteError(): unknown {
    const e = this.#writeError;
    this.#writeError = undefined;
    return e;
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) throw new Error('destroyed called twice!');
    await this.flush();
    this.#destroyed = true;
    if (this.#db && this.#db.status === 'open') await this.#db.close();
  }
}
