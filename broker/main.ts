// `machmon broker`: the embedded MQTT broker. See server.ts.
export { startBroker, type Broker } from './server.js';
