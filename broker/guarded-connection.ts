// The stream Aedes sees instead of the raw socket (TCP, TLS or WebSocket). Incoming bytes
// pass the MQTT framer first, so an oversize or malformed packet drops the connection
// before Aedes buffers it. Outgoing bytes are handed to the socket at once and Aedes is
// never told to wait: a client that stops reading only fills its own socket buffer, and
// once that holds more than maxOutgoingBufferBytes the client is dropped. One such client
// therefore never holds up delivery to the others (Aedes would otherwise wait for its
// 'drain' with a slot of its shared delivery concurrency).
import { Duplex } from 'node:stream';
import { MqttFramer, type FrameProblem } from './mqtt-framer.js';

export type ConnectionProblem = FrameProblem | { kind: 'slow_consumer'; bufferedBytes: number };

export interface GuardOptions {
  /** Largest remaining length (variable header + payload) an incoming packet may declare. */
  maxRemainingLength: number;
  maxOutgoingBufferBytes: number;
  /** Called once, just before the connection is dropped for the problem. */
  onProblem(problem: ConnectionProblem, conn: GuardedConnection): void;
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

  constructor(socket: Duplex, remote: { address?: string; port?: number }, opts: GuardOptions) {
    // A whole packet fits under the write high-water mark, so Aedes does not wait for a
    // 'drain' per large packet; the real bound is maxOutgoingBufferBytes on the socket.
    super({ allowHalfOpen: false, writableHighWaterMark: Math.min(opts.maxOutgoingBufferBytes, opts.maxRemainingLength + 5) });
    this.#socket = socket;
    this.#opts = opts;
    this.#framer = new MqttFramer(opts.maxRemainingLength);
    this.remoteAddress = remote.address ?? 'unknown';
    this.remotePort = remote.port;

    socket.on('data', (chunk: Buffer) => {
      if (this.#failed) return;
      const problem = this.#framer.push(chunk);
      if (problem) return this.#fail(problem);
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.#socket.destroyed) {
      this.#socket.write(chunk);
      this.#checkBacklog();
    }
    cb();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    if (!this.#socket.destroyed) {
      this.#socket.cork();
      for (const { chunk } of chunks) this.#socket.write(chunk);
      this.#socket.uncork();
      this.#checkBacklog();
    }
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#socket.destroy();
    cb(err);
  }

  #checkBacklog() {
    const buffered = this.#socket.writableLength;
    if (buffered > this.#opts.maxOutgoingBufferBytes) this.#fail({ kind: 'slow_consumer', bufferedBytes: buffered });
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
