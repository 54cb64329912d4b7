// The agent's MQTT connection: one MQTT.js client per connection attempt, reconnected by us
// with exponential backoff and jitter (MQTT.js's reconnectPeriod is a fixed interval).
// Last Will: retained "offline" on machmon/<host>/status; after every connect a retained
// "online" and a subscription to machmon/<host>/confirm/stored. Nothing is queued in
// memory while offline: publish() refuses and the caller's outbox keeps the reading.
//
// Footprint on a Pi: the client class is taken alone (mqtt/lib/client) with our own TCP/TLS
// stream, since mqtt's connect() loads its WebSocket, SOCKS and browser-timer transports on the
// first connection; and mqtt-packet's cache of 65536 two-byte Buffers (6 MB of heap, for
// message ids) is turned off with writeCache: false.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { IClientOptions, MqttClient } from 'mqtt';
import clientModule from 'mqtt/lib/client';
import type { Logger } from '../../common/log.js';
import { endClient } from '../../common/mqtt-end.js';
import { confirmTopic, statusTopic } from '../../common/topics.js';
import { backoffDelay } from '../../common/backoff.js';
import { brokerAddress } from '../parse/broker-url.js';

export interface PublisherOptions {
  readonly url: string;
  /** Opens one connection to the broker of url (streamBuilder). */
  readonly stream: StreamBuilder;
  readonly hostname: string;
  /** Absent with a client certificate (streamBuilder's clientCert): the broker takes the name from it. */
  readonly password?: string;
  readonly reconnect: { readonly minMs: number; readonly maxMs: number };
  readonly log: Logger;
  /** Publishes awaiting their PUBACK at most (beyond: publish() refuses). */
  readonly maxInflight?: number;
  readonly connectTimeoutMs?: number;
  readonly keepaliveSeconds?: number;
  /** After every successful connect, once status and subscription are sent. */
  readonly onConnect?: () => void;
  /** A message on the confirm topic. */
  readonly onConfirm: (payload: Buffer) => void;
}

export const ONLINE = 'online';
export const OFFLINE = 'offline';

// Node's ESM loader gives the CommonJS exports object (the class is its .default), as does
// the Pi bundle; vitest's loader gives the class itself.
const MqttClientClass = ('default' in clientModule ? clientModule.default : clientModule) as typeof clientModule.default;

export type StreamBuilder = (client: MqttClient) => Duplex;

/**
 * A function that opens one connection to the broker of `brokerUrl`, as MQTT.js's tcp and tls
 * transports do without a proxy. Node's tls module (1.2 MB of memory) is loaded only for
 * mqtts://. `ca`: the CA certificate(s) to trust (default: the system's).
 */
export async function streamBuilder(brokerUrl: string, ca?: Buffer, clientCert?: { cert: Buffer; key: Buffer }): Promise<StreamBuilder> {
  const { secure, host, port } = brokerAddress(brokerUrl);
  if (!secure) return () => net.createConnection({ host, port });
  const tls = await import('node:tls');
  return (client) => {
    const socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: true, ...(ca ? { ca } : {}), ...(clientCert ?? {}) });
    // As MQTT.js's tls transport: a handshake failure is the client's error, then the socket ends.
    const onTlsError = (err: Error) => {
      client.emit('error', err);
      socket.end();
    };
    socket.on('error', onTlsError);
    socket.on('secureConnect', () => socket.removeListener('error', onTlsError));
    return socket;
  };
}

export class Publisher {
  private client: MqttClient | undefined;
  private generation = 0;
  private inflight = 0;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private lastError: string | undefined;
  private everConnected = false;
  private isConnected = false;
  private readonly maxInflight: number;
  /** Connections made since start (for tests and logs). */
  connects = 0;

  constructor(private readonly opts: PublisherOptions) {
    this.maxInflight = opts.maxInflight ?? 100;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Connected and below the in-flight limit. */
  canPublish(): boolean {
    return this.isConnected && this.inflight < this.maxInflight;
  }

  start(): void {
    this.connect();
  }

  /** QoS 1 publish; false (nothing sent, nothing queued) when not connected or too much in flight. */
  publish(topic: string, payload: Uint8Array, opts: { retain?: boolean } = {}): boolean {
    const c = this.client;
    if (!c || !this.canPublish()) return false;
    const gen = this.generation;
    this.inflight++;
    c.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1, retain: opts.retain ?? false }, (err) => {
      if (gen !== this.generation) return;
      this.inflight--;
      if (err) this.opts.log.debug({ err, topic }, 'publish not acknowledged');
    });
    return true;
  }

  /** Publishes a retained "offline", disconnects cleanly and stops reconnecting. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    const c = this.client;
    if (!c) return;
    if (this.isConnected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        c.publish(statusTopic(this.opts.hostname), OFFLINE, { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await endClient(c);
    this.isConnected = false;
  }

  private connect(): void {
    const { hostname, log } = this.opts;
    const options: IClientOptions = {
      protocolVersion: 4,
      clientId: `machmon-agent-${hostname}`,
      username: hostname,
      password: this.opts.password,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      keepalive: this.opts.keepaliveSeconds ?? 60,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: statusTopic(hostname), payload: Buffer.from(OFFLINE), qos: 1, retain: true },
      writeCache: false,
      timerVariant: 'native',
    };
    const c = new MqttClientClass(this.opts.stream, options);
    this.client = c;
    const gen = ++this.generation;
    this.inflight = 0;
    let closed = false;

    c.on('connect', () => {
      if (gen !== this.generation) return;
      // Readings are small packets: without TCP_NODELAY, Nagle holds them back.
      (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      this.isConnected = true;
      this.connects++;
      log.info({ url: this.opts.url, attempt: this.attempt, reconnect: this.everConnected }, 'connected to broker');
      this.attempt = 0;
      this.lastError = undefined;
      this.everConnected = true;
      c.publish(statusTopic(hostname), ONLINE, { qos: 1, retain: true }, (err) => {
        if (err && gen === this.generation) log.warn({ err }, 'status "online" not acknowledged');
      });
      c.subscribe(confirmTopic(hostname), { qos: 1 }, (err, granted) => {
        if (gen !== this.generation) return;
        if (err || granted?.some((g) => g.qos === 128)) log.warn({ err, topic: confirmTopic(hostname) }, 'subscription to confirmations refused; readings will be re-sent until confirmed');
      });
      this.opts.onConnect?.();
    });
    c.on('message', (topic, payload) => {
      if (gen === this.generation && topic === confirmTopic(hostname)) this.opts.onConfirm(payload);
    });
    c.on('error', (err) => {
      this.lastError = err.message;
      log.debug({ err }, 'mqtt client error');
      // A refused CONNACK (bad credentials, not authorised) leaves the socket to the broker; close it ourselves.
      if (typeof (err as { code?: unknown }).code === 'number') c.end(true);
    });
    c.on('close', () => {
      if (closed) return;
      closed = true;
      const wasConnected = this.isConnected && gen === this.generation;
      if (gen === this.generation) this.isConnected = false;
      c.removeAllListeners('message');
      c.end(true);
      if (this.stopping || gen !== this.generation) return;
      if (wasConnected) log.warn({ url: this.opts.url }, 'broker connection lost');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    this.attempt++;
    const delayMs = backoffDelay(this.attempt, this.opts.reconnect.minMs, this.opts.reconnect.maxMs);
    this.opts.log.info({ url: this.opts.url, attempt: this.attempt, delayMs, error: this.lastError }, 'reconnecting to broker');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping) this.connect();
    }, delayMs);
  }
}
