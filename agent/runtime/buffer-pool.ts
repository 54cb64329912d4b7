// For the processes that run the agent alone (the Pi bundle, `machmon agent`): small Buffers
// allocated outside Node's shared pool. mqtt-packet (under MQTT.js) caches the encoded
// remaining length of every packet length it writes, up to 16,384 entries that are never
// evicted, each a 1-4 byte slice of the shared pool; a slice keeps its whole pool block alive
// (Buffer.poolSize: 8 KiB, 64 KiB on Node 24). The agent's packets come in ever new lengths
// (process lists, log lines), so its memory grew by one pool block per new length: measured by
// the soak (README "Scaling", Soak) as the agent's arrayBuffers growing 0.8 MB/hour, bounded
// only at 16,384 blocks (128 MiB). Upstream: mqttjs/mqtt-packet#163 (open). Unpooled, each
// cached entry holds its own few bytes; the cost, one allocation per small Buffer, does not
// show at the agent's few readings a second. Not for `machmon up`, whose broker and ingestor
// share the process and allocate per message.
export function unpoolSmallBuffers(): void {
  // Node's allocate() takes from the pool only when size < (Buffer.poolSize >>> 1).
  Buffer.poolSize = 0;
}
