// Ending an MQTT.js client on stop: gracefully (its DISCONNECT, and what waits for a PUBACK,
// go out), or, when the broker does not answer within graceMs, by closing its socket.
// MQTT.js's end(true) after end(false) does nothing (a second end() only calls back while the
// first is under way), so the forced path destroys the stream itself.
import type { MqttClient } from 'mqtt';

export function endClient(client: MqttClient, graceMs = 2000): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      client.stream?.destroy();
      resolve();
    }, graceMs);
    client.end(false, {}, () => {
      clearTimeout(t);
      resolve();
    });
  });
}
