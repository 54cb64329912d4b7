// Where agent.brokerUrl points. The agent speaks MQTT over TCP or TLS only (no WebSocket).

/** Schemes of brokerUrl the agent speaks: MQTT over TCP or over TLS (MQTT.js's names). */
export const PLAIN_SCHEMES = ['mqtt:', 'tcp:'];
export const TLS_SCHEMES = ['mqtts:', 'ssl:', 'tls:'];

export interface BrokerAddress {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
}

/** Where brokerUrl points: mqtt://host[:1883] or mqtts://host[:8883] (tcp:, ssl: and tls: as in MQTT.js). */
export function brokerAddress(brokerUrl: string): BrokerAddress {
  let url: URL;
  try {
    url = new URL(brokerUrl);
  } catch {
    throw new Error(`broker URL ${brokerUrl} is not a URL`);
  }
  const secure = TLS_SCHEMES.includes(url.protocol);
  if (!secure && !PLAIN_SCHEMES.includes(url.protocol)) throw new Error(`broker URL ${brokerUrl}: the agent speaks ${[...PLAIN_SCHEMES, ...TLS_SCHEMES].map((s) => `${s}//`).join(', ')}`);
  // [::1] -> ::1 for net.connect.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  return { secure, host, port: url.port ? Number(url.port) : secure ? 8883 : 1883 };
}
