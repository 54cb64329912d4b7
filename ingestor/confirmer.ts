// End-to-end confirmation (README "Data flow"): after a write, each host whose readings were in
// it learns which of its sequence numbers are done (stored, or rejected for good), on its
// own topic, in the format of common/confirm.ts. One publish per host per flush (more only
// past MAX_CONFIRM_RANGES ranges).
import { confirmPayloads } from '../common/confirm.js';
import { confirmTopic } from '../common/topics.js';

/** Publishes one payload at QoS 1, not retained. */
export type Publish = (topic: string, payload: Buffer) => void;

export class Confirmations {
  private readonly byHost = new Map<string, number[]>();

  add(host: string, seq: number): void {
    const list = this.byHost.get(host);
    if (list) list.push(seq);
    else this.byHost.set(host, [seq]);
  }

  /** Publishes everything collected; returns the number of payloads. */
  publish(publish: Publish): number {
    let n = 0;
    for (const [host, seqs] of this.byHost) {
      for (const payload of confirmPayloads(seqs)) {
        publish(confirmTopic(host), payload);
        n++;
      }
    }
    this.byHost.clear();
    return n;
  }
}
