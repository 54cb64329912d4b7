// A minimal MQTT 3.1.1 fixed-header reader that sees bytes before Aedes does. It follows
// packet boundaries as chunks stream in (type byte, remaining-length varint, body) and
// reports a packet whose declared length is over the limit as soon as its header has
// arrived, so an oversize PUBLISH is refused without buffering it (Aedes 1.x would collect
// up to the protocol's 256 MB before parsing). It holds a few integers of state, never data.

export type FrameProblem =
  | { kind: 'too_large'; packetType: number; remainingLength: number }
  | { kind: 'malformed'; detail: string };

const enum State {
  Type,
  Length,
  Body,
}

/** Packet type 0 is reserved in every MQTT version; 15 is AUTH, MQTT 5 only (Aedes 1.x speaks 3.1.1). */
const RESERVED_TYPES = new Set([0, 15]);
const MAX_VARINT_BYTES = 4;

export class MqttFramer {
  #state = State.Type;
  #type = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #bodyLeft = 0;

  /** @param maxRemainingLength the largest remaining length (variable header + payload) a packet may declare. */
  constructor(private readonly maxRemainingLength: number) {}

  /** Feeds the next chunk; returns the first problem found (the stream must then be dropped), else undefined. */
  push(chunk: Uint8Array): FrameProblem | undefined {
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case State.Type: {
          this.#type = chunk[i++]! >> 4;
          if (RESERVED_TYPES.has(this.#type)) return { kind: 'malformed', detail: `reserved packet type ${this.#type}` };
          this.#state = State.Length;
          this.#length = 0;
          this.#multiplier = 1;
          this.#lengthBytes = 0;
          break;
        }
        case State.Length: {
          const b = chunk[i++]!;
          this.#length += (b & 0x7f) * this.#multiplier;
          this.#multiplier *= 128;
          this.#lengthBytes++;
          if (b & 0x80) {
            if (this.#lengthBytes >= MAX_VARINT_BYTES) return { kind: 'malformed', detail: 'remaining length longer than 4 bytes' };
            break;
          }
          if (this.#length > this.maxRemainingLength) return { kind: 'too_large', packetType: this.#type, remainingLength: this.#length };
          this.#bodyLeft = this.#length;
          this.#state = this.#bodyLeft > 0 ? State.Body : State.Type;
          break;
        }
        case State.Body: {
          const take = Math.min(this.#bodyLeft, chunk.length - i);
          i += take;
          this.#bodyLeft -= take;
          if (this.#bodyLeft === 0) this.#state = State.Type;
          break;
        }
      }
    }
    return undefined;
  }
}
