// Reproduction (run after `npx tsc -p tsconfig.json`: node bench/repro/persistent-session-loss.mjs [clean]):
// machmon startBroker in-process, one subscriber to machmon/+/+ with a persistent session
// (clean=false, as the ingestor) acking every QoS 1 message at once, 5 publishers x 13
// messages, twice, 300 ms apart. Often some messages of the second round never reach the
// subscriber (`miss` lists them); with `clean` (clean session) all 130 arrive. Plain Aedes
// 1.2 + aedes-persistence-level with the same clients lost none in 6 runs.
import { mkdtempSync } from 'node:fs';
import { startBroker } from '../../dist/broker/server.js';
import { silentLogger } from '../../dist/common/log.js';
import { LeanClient } from '../../dist/bench/lean-mqtt.js';
const b = await startBroker({ host: '127.0.0.1', port: 0, secretPassword: 'pw', allowedHosts: ['p*'], readers: ['ingestor'], maxPayloadBytes: 262144, connectTimeoutMs: 10000, maxOutgoingBufferBytes: 16e6, authThrottle: { baseDelayMs: 100, maxDelayMs: 5000, halfLifeMs: 60000, summaryIntervalMs: 10000, maxAddresses: 100 }, dataDir: mkdtempSync('/tmp/machmon-repro-') }, silentLogger);
const port = b.port;
const seen = new Set(); let recv = 0;
const sink = new LeanClient({ host: '127.0.0.1', port, clientId: 'sink', username: 'ingestor', password: 'pw', clean: process.argv[2] === 'clean' }, { onMessage: (t, p) => { recv++; seen.add(t + ':' + p.toString()); } });
await sink.connect(); await sink.subscribe('machmon/+/+', 1);
const pubs = [];
for (let i = 0; i < 5; i++) { const c = new LeanClient({ host: '127.0.0.1', port, clientId: 'p' + i, username: 'p' + i, password: 'pw' }); await c.connect(); pubs.push(c); }
let sent = 0;
for (let k = 0; k < 2; k++) { for (const [i, c] of pubs.entries()) { c.socket.cork(); for (let j = 0; j < 13; j++) { c.publish(`machmon/p${i}/x${j}`, Buffer.from(`${k}-${j}`)); sent++; } process.nextTick(() => c.socket.uncork()); } await new Promise(r => setTimeout(r, 300)); }
await new Promise(r => setTimeout(r, 2000));
const miss=[]; for (let k=0;k<2;k++) for (let i=0;i<5;i++) for (let j=0;j<13;j++) if (!seen.has(`machmon/p${i}/x${j}:${k}-${j}`)) miss.push(`p${i}/x${j}:${k}`); console.log({ sent, recv, miss });
process.exit(0);
