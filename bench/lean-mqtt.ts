// A minimal MQTT 3.1.1 client for the load generator: one TCP socket and mqtt-packet's
// parser and generator, nothing else. Thousands of these fit in one process where MQTT.js
// clients (a store, timers and a packet pump each) would cost the generator the CPU it is
// supposed to leave to the broker and ingestor. Speaks real MQTT to a real broker: CONNECT
// with a Last Will, QoS 1 PUBLISH/PUBACK in both directions, SUBSCRIBE, PINGREQ.
// Incoming QoS 1 messages are acknowledged at once (a bare subscriber / an agent).
import net from 'node:net';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';

export interface LeanOptions {
  host: string;
  port: number;
  clientId: string;
  username?: string;
  password?: string;
  clean?: boolean;
  keepaliveSeconds?: number;
  will?: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean };
  connectTimeoutMs?: number;
}

export interface LeanHandlers {
  /** An incoming PUBLISH (already acknowledged when QoS 1). */
  onMessage?(topic: string, payload: Buffer): void;
  /** PUBACK of one of our publishes. */
  onPuback?(messageId: number): void;
  /** The connection ended (by us or the other side). */
  onClose?(hadError: boolean): void;
}

export class LeanClient {
  readonly socket: net.Socket;
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private nextId = 1;
  private pendingConnect: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly pendingSub = new Map<number, { resolve: (granted: number[]) => void }>();
  private closed = false;
  /** Publishes awaiting their PUBACK. */
  inflight = 0;
  connected = false;

  constructor(readonly opts: LeanOptions, private readonly handlers: LeanHandlers = {}) {
    this.socket = net.connect({ host: opts.host, port: opts.port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.parser.parse(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', (hadError) => {
      this.connected = false;
      this.fail(new Error(`${opts.clientId}: connection closed`));
      if (!this.closed) {
        this.closed = true;
        this.handlers.onClose?.(hadError);
      }
    });
    this.parser.on('packet', (p: Packet) => this.onPacket(p));
    this.parser.on('error', (err: Error) => this.socket.destroy(err));
  }

  /** Sends CONNECT and resolves on CONNACK 0 (rejects on a refusal, an error or the timeout). */
  connect(): Promise<void> {
    const { opts } = this;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${opts.clientId}: no CONNACK within ${opts.connectTimeoutMs ?? 30_000} ms`)), opts.connectTimeoutMs ?? 30_000);
      this.pendingConnect = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      this.write({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: opts.clientId,
        clean: opts.clean ?? true,
        keepalive: opts.keepaliveSeconds ?? 60,
        username: opts.username,
        password: opts.password === undefined ? undefined : Buffer.from(opts.password),
        will: opts.will,
      });
    });
  }

  subscribe(topic: string, qos: 0 | 1 = 1): Promise<number[]> {
    const messageId = this.allocateId();
    return new Promise((resolve) => {
      this.pendingSub.set(messageId, { resolve });
      this.write({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
    });
  }

  /** QoS 1 publish; returns its message id. */
  publish(topic: string, payload: Buffer, retain = false): number {
    const messageId = this.allocateId();
    this.inflight++;
    this.write({ cmd: 'publish', topic, payload, qos: 1, messageId, retain, dup: false });
    return messageId;
  }

  ping(): void {
    if (this.connected) this.write({ cmd: 'pingreq' });
  }

  /** Clean DISCONNECT (no Last Will) and close. */
  end(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      if (this.connected) this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
      else this.socket.destroy();
      setTimeout(() => this.socket.destroy(), 2000).unref();
    });
  }

  /** Closes without DISCONNECT (the broker publishes the Last Will). */
  destroy(): void {
    this.socket.destroy();
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = id === 65535 ? 1 : id + 1;
    return id;
  }

  private write(packet: Packet): void {
    if (!this.socket.destroyed) this.socket.write(mqttPacket.generate(packet));
  }

  private fail(err: Error): void {
    this.pendingConnect?.reject(err);
    this.pendingConnect = undefined;
  }

  private onPacket(p: Packet): void {
    switch (p.cmd) {
      case 'connack':
        if (p.returnCode === 0) {
          this.connected = true;
          this.pendingConnect?.resolve();
        } else {
          this.pendingConnect?.reject(new Error(`${this.opts.clientId}: CONNACK ${p.returnCode}`));
          this.socket.destroy();
        }
        this.pendingConnect = undefined;
        break;
      case 'puback':
        this.inflight--;
        this.handlers.onPuback?.(p.messageId!);
        break;
      case 'suback': {
        const pending = this.pendingSub.get(p.messageId!);
        this.pendingSub.delete(p.messageId!);
        pending?.resolve(p.granted as number[]);
        break;
      }
      case 'publish': {
        const pub = p as IPublishPacket;
        if (pub.qos === 1) this.write({ cmd: 'puback', messageId: pub.messageId! });
        this.handlers.onMessage?.(pub.topic, pub.payload as Buffer);
        break;
      }
      default:
        break;
    }
  }
}
