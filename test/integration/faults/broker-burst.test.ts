// A burst of QoS 1 publishes (an agent replaying its outbox after an outage, 100 in flight)
// through the real broker with its LevelDB session store: every publish the broker
// acknowledged must reach every subscriber. Found by the fault suite: Aedes numbers each
// publish when it arrives, but a QoS 1 publish then waits for the session store (offline
// queues) before it is emitted, so a later one can overtake it; Aedes' per-client
// "duplicate" check (moscajs/aedes#955, #994) then dropped the overtaken one, after its
// PUBACK, for every subscriber online at that moment (about 5 % of a 2000-message burst).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../../broker/server.js';
import { loadConfig } from '../../../common/config.js';
import { silentLogger } from '../../../common/log.js';

const PASSWORD = 'burst-secret';
const READER_PASSWORD = 'burst-reader-secret';
let broker: Broker | undefined;
let dir: string | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await broker?.stop();
  broker = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function connect(port: number, opts: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, password: PASSWORD, ...opts });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

/** Publishes n QoS 1 messages "0".."n-1" keeping `window` unacknowledged; resolves when all are acknowledged. */
function burst(c: MqttClient, topic: string, n: number, window: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const more = () => {
      while (sent < n && sent - acked < window) {
        c.publish(topic, String(sent++), { qos: 1 }, (err) => {
          if (err) return reject(err);
          if (++acked === n) resolve();
          else more();
        });
      }
    };
    more();
  });
}

describe('broker under a burst of QoS 1 publishes', () => {
  it('delivers every acknowledged publish to a persistent QoS 1 and a clean QoS 0 subscriber', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'machmon-burst-'));
    const cfg = loadConfig({
      raw: { broker: { host: '127.0.0.1', port: 0, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['pi-*'], readers: ['ingestor', 'watcher'], dataDir: dir } },
      sections: ['broker'],
      env: {},
    }).broker!;
    broker = await startBroker(cfg, silentLogger);
    const ingestor = await connect(broker.port, { clientId: 'machmon-ingestor-ingestor', username: 'ingestor', password: READER_PASSWORD, clean: false });
    const watcher = await connect(broker.port, { clientId: 'watcher', username: 'watcher', password: READER_PASSWORD, clean: true });
    await ingestor.subscribeAsync('machmon/+/+', { qos: 1 });
    await watcher.subscribeAsync('machmon/+/+', { qos: 0 });
    const got = { ingestor: new Set<string>(), watcher: new Set<string>() };
    const copies = { ingestor: 0, watcher: 0 };
    for (const [name, c] of [['ingestor', ingestor], ['watcher', watcher]] as const) {
      c.on('message', (_t, p) => {
        got[name].add(p.toString());
        copies[name]++;
      });
    }

    const pi = await connect(broker.port, { clientId: 'machmon-agent-pi-burst', username: 'pi-burst', clean: true });
    const N = 2000;
    await burst(pi, 'machmon/pi-burst/cpu', N, 100);
    const deadline = Date.now() + 10_000;
    while ((got.ingestor.size < N || got.watcher.size < N) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    const missing = (s: Set<string>) => Array.from({ length: N }, (_, i) => String(i)).filter((k) => !s.has(k));
    expect({ ingestor: missing(got.ingestor).length, watcher: missing(got.watcher).length }).toEqual({ ingestor: 0, watcher: 0 });
    // One subscription each: one copy each (the check is off, not replaced by duplicates).
    await new Promise((r) => setTimeout(r, 300));
    expect(copies).toEqual({ ingestor: N, watcher: N });
  });
});
