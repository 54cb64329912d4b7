// The outbox's only in-memory state: an index of the unfinished records in typed-array
// columns (seq, metric, flags, segment, offset, size, sample time, sent time, sends), about 40 bytes per
// record, never the payloads.

/** Unfinished records, oldest first, in columns. Seqs strictly increase from head to tail. */
export class EntryIndex {
  private cap = 1024;
  seq = new Float64Array(this.cap);
  time = new Float64Array(this.cap);
  sent = new Float64Array(this.cap);
  off = new Uint32Array(this.cap);
  size = new Uint32Array(this.cap); // 0 = finished
  seg = new Uint32Array(this.cap);
  metric = new Uint8Array(this.cap);
  flags = new Uint8Array(this.cap);
  /** Times sent since open without a confirmation (saturates at 255). */
  sends = new Uint8Array(this.cap);
  head = 0;
  tail = 0;
  live = 0;
  bytes = 0;

  push(seq: number, metric: number, seg: number, off: number, size: number, time: number, flags = 0): void {
    if (this.tail === this.cap) this.makeSpace();
    const i = this.tail++;
    this.seq[i] = seq;
    this.metric[i] = metric;
    this.flags[i] = flags;
    this.seg[i] = seg;
    this.off[i] = off;
    this.size[i] = size;
    this.time[i] = time;
    this.sent[i] = 0;
    this.sends[i] = 0;
    this.live++;
    this.bytes += size;
  }

  /** First index in [head, tail) whose seq >= seq. */
  lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seq[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of a live entry with this seq, or -1. */
  find(seq: number): number {
    const last = this.tail - 1;
    const i = last >= this.head && this.seq[last] === seq ? last : this.lowerBound(seq);
    return i < this.tail && this.seq[i] === seq && this.size[i]! > 0 ? i : -1;
  }

  /** Marks entry i finished; returns its segment id. */
  remove(i: number): number {
    this.bytes -= this.size[i]!;
    this.size[i] = 0;
    this.live--;
    while (this.head < this.tail && this.size[this.head] === 0) this.head++;
    if (this.head === this.tail) this.head = this.tail = 0;
    return this.seg[i]!;
  }

  firstLive(): number {
    return this.head < this.tail ? this.head : -1;
  }

  private makeSpace(): void {
    const used = this.tail - this.head;
    if (this.live <= used / 2 || this.head >= this.cap / 2) {
      let w = 0;
      for (let r = this.head; r < this.tail; r++) {
        if (this.size[r] === 0) continue;
        if (w !== r) {
          this.seq[w] = this.seq[r]!;
          this.time[w] = this.time[r]!;
          this.sent[w] = this.sent[r]!;
          this.off[w] = this.off[r]!;
          this.size[w] = this.size[r]!;
          this.seg[w] = this.seg[r]!;
          this.metric[w] = this.metric[r]!;
          this.flags[w] = this.flags[r]!;
          this.sends[w] = this.sends[r]!;
        }
        w++;
      }
      this.head = 0;
      this.tail = w;
      if (this.tail < this.cap * 0.75) return;
    }
    this.cap *= 2;
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(this.cap);
      b.set(a);
      return b;
    };
    this.seq = grow(this.seq);
    this.time = grow(this.time);
    this.sent = grow(this.sent);
    this.off = grow(this.off);
    this.size = grow(this.size);
    this.seg = grow(this.seg);
    this.metric = grow(this.metric);
    this.flags = grow(this.flags);
    this.sends = grow(this.sends);
  }
}
