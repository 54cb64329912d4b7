// PUBACK after the write, not on receipt: the one place that reaches into MQTT.js 5.16
// internals (checked in node_modules/mqtt/build/lib/handlers/publish.js and client.js).
//
// MQTT.js handles incoming packets one at a time: for a QoS 1 PUBLISH it calls
// `client.handleMessage(packet, cb)` and the next packet is handled only after `cb`.
// `cb()` sends the PUBACK at once; `cb(err)` makes handlePublish call `done(err)`, which
// does NOT send the PUBACK but lets the packet pump go on (the pump ignores the error).
// So we take every message with `cb(DEFERRED)` and send the PUBACK ourselves once the
// write holding the message succeeded.
//
// PUBACKs are written as bytes, all of one event-loop turn in one socket write: a batch
// acknowledges thousands of messages at once, and MQTT.js's `_sendPacket` per PUBACK (its
// debug calls, mqtt-packet's three small writes and a cork per packet, one writev entry each)
// was a tenth of the ingestor's CPU (README "Scaling"). A PUBACK of MQTT 3.1.1 (section
// 3.4, the protocolVersion the ingestor connects with) is 0x40, remaining length 2, and
// the packet identifier, big-endian. 'packetsend' is still emitted for each, as MQTT.js does.
//
// - Message ids belong to one connection: after a reconnect the broker re-delivers every
//   unacknowledged message under ids that may be reused, so an ack of the old connection
//   is dropped, never sent on the new one. (`_sendPacket` would even queue it while
//   offline and send it after reconnecting, so "connected" alone is not enough: every
//   CONNACK starts a new epoch.)
// - Back-pressure: while `shouldPause()` says the pending buffer is full, the callback of
//   the next PUBLISH is held, so MQTT.js stops reading the socket (TCP pushes back on the
//   broker) until `resume()`.
// - We do not listen to 'message' (emitted before handleMessage for the same packet).
import type { IPublishPacket, MqttClient, Packet } from 'mqtt';

/** Passed to handleMessage's callback: "taken, PUBACK comes later". */
const DEFERRED = Object.freeze(new Error('machmon: PUBACK deferred until the reading is stored'));

export interface DeferredAcks {
  /** Current connection epoch (changes on every CONNACK and every close). */
  readonly epoch: number;
  /** Sends the PUBACK of `messageId` if its connection is still the current one; returns whether it did. */
  ack(epoch: number, messageId: number): boolean;
  /** Lets held packets through after shouldPause() said stop. */
  resume(): void;
  /** Number of packets held back right now. */
  readonly held: number;
}

export interface DeferOptions {
  /** Called for every PUBLISH, in order, with the epoch of the connection it came on. */
  onPublish(packet: IPublishPacket, epoch: number): void;
  /** Asked after each PUBLISH: true holds further packets until resume(). */
  shouldPause(): boolean;
}

/** MQTT 3.1.1 PUBACK: fixed header 0x40, remaining length 2, packet identifier (section 3.4). */
const PUBACK = 0x40;
const PUBACK_BYTES = 4;

export function deferAcks(client: MqttClient, opts: DeferOptions): DeferredAcks {
  let epoch = 0;
  const held: (() => void)[] = [];
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'connack') epoch++;
  });
  client.on('close', () => {
    epoch++;
  });

  client.handleMessage = (packet, cb) => {
    opts.onPublish(packet, epoch);
    // QoS 1: PUBACK later (ack()); QoS 0 needs none; QoS 2 (never asked for: we subscribe
    // at QoS 1) keeps MQTT.js's own PUBREC/PUBCOMP flow.
    if (opts.shouldPause()) held.push(packet.qos === 1 ? () => cb(DEFERRED) : () => cb());
    else if (packet.qos === 1) cb(DEFERRED);
    else cb();
  };

  // PUBACKs of this turn, written together at its end (message ids of connection `queuedEpoch`).
  let queued: number[] = [];
  let queuedEpoch = -1;
  const flush = () => {
    const ids = queued;
    queued = [];
    // The connection they belong to is gone: the broker re-delivers those messages.
    if (queuedEpoch !== epoch || !client.connected || !client.stream?.writable) return;
    const bytes = Buffer.allocUnsafe(ids.length * PUBACK_BYTES);
    for (let i = 0, o = 0; i < ids.length; i++, o += PUBACK_BYTES) {
      const id = ids[i]!;
      bytes[o] = PUBACK;
      bytes[o + 1] = 2;
      bytes[o + 2] = id >> 8;
      bytes[o + 3] = id & 0xff;
    }
    client.stream.write(bytes);
  };

  return {
    get epoch() {
      return epoch;
    },
    get held() {
      return held.length;
    },
    ack(ackEpoch, messageId) {
      if (ackEpoch !== epoch || !client.connected) return false;
      if (queued.length === 0) process.nextTick(flush);
      else if (queuedEpoch !== epoch) queued = []; // of a connection gone since: never sent on this one
      queuedEpoch = epoch;
      queued.push(messageId);
      if (client.listenerCount('packetsend')) client.emit('packetsend', { cmd: 'puback', messageId } as Packet);
      return true;
    },
    resume() {
      for (const release of held.splice(0)) release();
    },
  };
}
