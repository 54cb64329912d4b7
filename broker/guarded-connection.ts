// The stream Aedes sees instead of the raw socket (TCP, TLS or WebSocket). Incoming bytes
// pass the MQTT framer first, so an oversize or malformed packet drops the connection
// before Aedes buffers it.
// Outgoing: while the client keeps up, bytes go to the socket and Aedes goes on at once.
// When the socket backs up, this connection waits for its 'drain', but at most
// DRAIN_WAIT_MS: enough to pace a client through its queued backlog (a persistent session
// coming back), too short for one client that stops reading to hold Aedes' shared
// delivery slots (Aedes would wait up to its drainTimeout, stalling everyone). What such a
// client does not read piles up here and in its socket; beyond maxOutgoingBufferBytes the
// client is dropped. A reader (the ingestor) is the exception: its writes wait for 'drain'
// without a time limit, so a reader that falls behind slows delivery down (and the broker
// then stops reading from the agents, see emitter.ts) instead of piling its backlog up here.
//
// Incoming bytes reach Aedes at most FEED_BYTES at a time: Aedes parses all it reads at once
// and dispatches every packet in it together (aedes lib/client.js, enqueue), so one socket
// read of 64 KB became some 160 parsed readings in the broker's queue per connection, each
// far larger than its bytes. The rest of a read waits here as bytes, the socket paused.
//
// hold(): the broker stops reading from this connection (overload): the socket is paused and
// what was read but not yet handed on stays here, unparsed (never dropped); release() goes on.
import { Duplex } from 'node:stream';
import { MqttFramer, type FrameProblem } from './mqtt-framer.js';

/** Longest a write waits for a backed-up socket to drain before Aedes may go on. */
export const DRAIN_WAIT_MS = 100;

/** Bytes handed to Aedes at a time (about ten readings). */
export const FEED_BYTES = 4096;

export type ConnectionProblem = FrameProblem | { kind: 'slow_consumer'; bufferedBytes: number };

/** Bytes through every guarded connection, counted where they pass (broker/metrics.ts reads them). */
export interface Traffic {
  bytesReceived: number;
  bytesSent: number;
}

export interface GuardOptions {
  /** Largest remaining length (variable header + payload) an incoming packet may declare. */
  maxRemainingLength: number;
  maxOutgoingBufferBytes: number;
  /** Called once, just before the connection is dropped for the problem. */
  onProblem(problem: ConnectionProblem, conn: GuardedConnection): void;
  traffic?: Traffic;
}

export class GuardedConnection extends Duplex {
  /** The client's address as the socket saw it (kept after the socket is gone, for logs). */
  readonly remoteAddress: string;
  readonly remotePort: number | undefined;
  /** Set by Aedes to the client it made for this connection. */
  client?: { readonly id: string | null };
  readonly #socket: Duplex;
  readonly #framer: MqttFramer;
  readonly #opts: GuardOptions;
  #failed = false;
  #held = false;
  /** Read from the socket, not yet handed to Aedes (the socket is paused meanwhile). */
  #pending: Buffer | undefined;
  /** The socket ended; Aedes gets the end once #pending is handed on. */
  #ended = false;
  /** Set once the client is known to be a reader: writes wait for 'drain' as long as it takes. */
  patient = false;

  constructor(socket: Duplex, remote: { address?: string; port?: number }, opts: GuardOptions) {
    // A whole packet fits under the write high-water mark, so Aedes does not wait for a
    // 'drain' per large packet; the real bound is maxOutgoingBufferBytes.
    super({ allowHalfOpen: false, writableHighWaterMark: Math.min(opts.maxOutgoingBufferBytes, opts.maxRemainingLength + 5), readableHighWaterMark: FEED_BYTES });
    this.#socket = socket;
    this.#opts = opts;
    this.#framer = new MqttFramer(opts.maxRemainingLength);
    this.remoteAddress = remote.address ?? 'unknown';
    this.remotePort = remote.port;

    const traffic = opts.traffic;
    socket.on('data', (chunk: Buffer) => {
      if (traffic) traffic.bytesReceived += chunk.length;
      if (this.#failed) return;
      const problem = this.#framer.push(chunk);
      if (problem) return this.#fail(problem);
      this.#pending = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
      this.#feed();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#feed();
    });
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    // Not at once: Node calls _read inside read() before taking the buffered bytes, and a
    // piece pushed now would leave with them (two pieces in one read).
    process.nextTick(() => this.#feed());
  }

  /** True while the broker does not read from this connection (overload). */
  get held(): boolean {
    return this.#held;
  }

  /** Hands Aedes the next FEED_BYTES of what was read while it wants more; reads on from the socket once nothing waits. */
  #feed(): void {
    if (this.#failed || this.destroyed) return;
    let p = this.#pending;
    while (p && !this.#held) {
      const room = FEED_BYTES - this.readableLength;
      if (room <= 0) break;
      const piece = p.length > room ? p.subarray(0, room) : p;
      p = piece === p ? undefined : p.subarray(room);
      if (!this.push(piece)) break;
    }
    // A small rest of a large read is copied, so the read's memory can go.
    if (p && p.buffer.byteLength > 4 * p.length) p = Buffer.from(p);
    this.#pending = p;
    if (p || this.#held) this.#socket.pause();
    else if (this.#ended) this.push(null);
    else if (this.readableLength < this.readableHighWaterMark) this.#socket.resume();
  }

  /** Stop reading: the socket's unread bytes stay in the kernel (TCP pushes back on the client), what was read stays here as bytes. */
  hold(): void {
    this.#held = true;
    this.#socket.pause();
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.readableLength < this.readableHighWaterMark) this.#feed();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb);
  }

  /** Gets everything queued since the last call at once, so a paced connection catches up in one go. */
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    const socket = this.#socket;
    if (socket.destroyed) return cb();
    let ok = true;
    let bytes = 0;
    socket.cork();
    for (const { chunk } of chunks) {
      ok = socket.write(chunk);
      bytes += chunk.length;
    }
    socket.uncork();
    if (this.#opts.traffic) this.#opts.traffic.bytesSent += bytes;
    // Unsent bytes: in the socket, plus what waits here beyond the chunks just handed on.
    const backlog = socket.writableLength + this.writableLength - bytes;
    if (backlog > this.#opts.maxOutgoingBufferBytes) {
      this.#fail({ kind: 'slow_consumer', bufferedBytes: backlog });
      return cb();
    }
    if (ok) return cb();
    const done = () => {
      clearTimeout(timer);
      socket.off('drain', done);
      socket.off('close', done);
      cb();
    };
    const timer = this.patient ? undefined : setTimeout(done, DRAIN_WAIT_MS);
    socket.once('drain', done);
    socket.once('close', done);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#socket.destroy();
    cb(err);
  }

  #fail(problem: ConnectionProblem) {
    if (this.#failed) return;
    this.#failed = true;
    this.#opts.onProblem(problem, this);
    // Destroyed without an error: the problem is logged and counted by onProblem; Aedes
    // sees a closed connection and cleans up (Last Will included).
    this.#socket.destroy();
    this.destroy();
  }
}
