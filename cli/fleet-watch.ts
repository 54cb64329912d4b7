// Following the fleet on the broker as a reader, for `machmon top` and the status line of
// `machmon up`: the reader login, and a clean QoS 0 subscription to machmon/+/+ feeding a Fleet.
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { BrokerConfig } from '../broker/config.js';
import { ConfigError } from '../common/errors.js';
import { INGEST_SUBSCRIPTION } from '../common/topics.js';
import { Fleet } from './top-model.js';

export interface ReaderLogin {
  url: string;
  username: string;
  password: string;
}

/** The reader login the broker section gives (the one place that knows it): the first of broker.readers, the fleet password, broker.host (127.0.0.1 for 0.0.0.0) and broker.port. */
export function brokerReaderLogin(broker: BrokerConfig, source = 'the config'): ReaderLogin {
  const username = broker.readers[0];
  if (!username) throw new ConfigError(`broker.readers in ${source} is empty: no user may read the fleet; give --user`);
  const host = broker.host === '0.0.0.0' || broker.host === '::' ? '127.0.0.1' : broker.host;
  return { url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${broker.port}`, username, password: broker.readerPassword };
}

export interface Watch {
  client: MqttClient;
  fleet: Fleet;
  /** "connecting", "connected", or what went wrong. */
  state: { text: string; fatal?: string; bad: number };
}

/** Follows the fleet on the broker as a reader (clean session, QoS 0). */
export function watch(login: ReaderLogin, onChange: () => void): Watch {
  const fleet = new Fleet();
  const state: Watch['state'] = { text: 'connecting', bad: 0 };
  const client = mqtt.connect(login.url, {
    clientId: `machmon-top-${randomBytes(4).toString('hex')}`,
    username: login.username,
    password: login.password,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 2_000,
    connectTimeout: 5_000,
  });
  client.on('connect', () => {
    state.text = 'connected';
    client.subscribe(INGEST_SUBSCRIPTION, { qos: 0 }, (err, granted) => {
      if (err || granted?.some((g) => g.qos === 128)) {
        state.fatal = `the broker refused ${login.username} the subscription ${INGEST_SUBSCRIPTION}: only broker.readers may read the fleet`;
        state.text = state.fatal;
      }
      onChange();
    });
    onChange();
  });
  client.on('error', (err) => {
    state.text = err.message;
    // Wrong login: retrying does not help.
    if ((err as { code?: number }).code === 4 || (err as { code?: number }).code === 5) state.fatal = `${login.url} refused the login of ${login.username}: ${err.message}`;
    onChange();
  });
  client.on('offline', () => {
    if (state.text === 'connected') state.text = 'disconnected, reconnecting';
    onChange();
  });
  client.on('message', (topic, payload, packet) => {
    const problem = fleet.take(topic, payload, Date.now(), packet.retain);
    if (problem) {
      state.bad++;
      state.text = `connected; ${state.bad} unreadable messages, last: ${problem.slice(0, 120)}`;
    }
    onChange();
  });
  return { client, fleet, state };
}
