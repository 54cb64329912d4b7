// The embedded MQTT broker (README "Security model", "Scaling"): Aedes with Machmon's login
// and ACL hooks, plain TCP, optional TLS and WebSocket listeners. Every connection passes a
// GuardedConnection (packet-size framer, slow-consumer cap) before Aedes sees it.
// Sessions: FleetPersistence (subscriptions, retained messages and wills on disk under
// dataDir/state, QoS 1 queues in memory with a bound). Overload: a bounded, non-recursive
// message queue (emitter.ts); past its bound the broker stops reading from the agents.
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { Aedes, type Client } from 'aedes';
import mqemitterRedis from 'mqemitter-redis';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { readPemFile } from '../common/config-loader.js';
import type { BrokerConfig } from './config.js';
import { MachmonError } from '../common/errors.js';
import { CONFIRM } from '../common/topics.js';
import type { Logger } from '../common/log.js';
import { newRegistry, startMetricsServer, type MetricsServer } from '../common/prometheus.js';
import type { Service } from '../common/service.js';
import type { Identity } from './acl.js';
import { AuthThrottle } from './auth-throttle.js';
import { createBoundedEmitter, type BoundedEmitter } from './emitter.js';
import { FleetPersistence } from './fleet-persistence.js';
import { BrokerCounters, registerBrokerMetrics, startStatsPublisher, type BrokerFigureSource } from './metrics.js';
import { GuardedConnection, type ConnectionProblem } from './guarded-connection.js';
import { createAuthenticateHooks } from './hooks/authenticate.js';
import { createAuthorizeForward } from './hooks/authorize-forward.js';
import { createAuthorizePublish } from './hooks/authorize-publish.js';
import { createAuthorizeSubscribe } from './hooks/authorize-subscribe.js';
import { RedisPersistence } from './redis-persistence.js';
import { addressOf, newRefusals, RefusedError, type Refusals } from './refusals.js';

/**
 * Room for the rest of a packet around its payload: topic (2 + 65535 bytes) and message id.
 * A packet declaring more than maxPayloadBytes plus this is dropped by the framer unread;
 * the exact payload limit is checked in authorizePublish.
 */
export const HEADER_ROOM = 2 + 65_535 + 2;

export interface Broker extends Service {
  /** The TCP port actually listened on (cfg.port 0 picks one). */
  readonly port: number;
  readonly tlsPort?: number;
  readonly wsPort?: number;
  /** The port of /metrics, /healthz and /readyz when broker.metrics.enabled. */
  readonly metricsPort?: number;
  readonly aedes: Aedes;
  /** Refusals counted by reason since start. */
  readonly refusals: Readonly<Refusals>;
  /** Applies the login rules of a reloaded config (broker/reload.ts) and disconnects the clients they no longer admit. */
  reconfigure(next: BrokerConfig): { dropped: number };
  /** Load figures since start (for tests, the bench and logs). */
  stats(): BrokerStats;
}

export interface BrokerStats {
  /** Publishes waiting for a delivery slot now, and the most at once since start. */
  waiting: number;
  peakWaiting: number;
  /** Times the broker stopped reading from agents, and for how long in all. */
  overloads: number;
  heldMs: number;
  /** Messages not queued for a persistent session whose queue was full. */
  droppedQueued: number;
}

/**
 * Replaces Aedes' per-client record of the last message number delivered (client.duplicates,
 * aedes 1.2 lib/client.js dedupe()): every message reads as new. Aedes numbers a publish
 * when it arrives, but a QoS 1 publish then waits for the session store (offline queues in
 * LevelDB) before it is emitted, so in a burst a later one overtakes it and the check drops
 * the overtaken one for every subscriber online, after its PUBACK (moscajs/aedes#955, #994;
 * about 5 % of a 2000-message burst, test/integration/faults/broker-burst.test.ts). The check is for
 * clusters, but with broker.cluster the same overtaking happens, so it stays off there too
 * (a reading a node delivers twice is an idempotent rewrite); without it a client whose
 * subscriptions overlap gets a copy per matching subscription, which MQTT 3.1.1 allows (3.3.5) and the idempotent
 * pipeline takes in its stride.
 */
const NO_DEDUPE: object = new Proxy({}, { get: () => undefined, set: () => true });

/** Confirmations (machmon/<host>/confirm/stored, published only by readers): the emitter's fast lane. */
const CONFIRM_SUFFIX = `/${CONFIRM}`;

/** Deliveries in progress at once (Aedes' default). */
const AEDES_CONCURRENCY = 100;

/** Aedes' own error messages that are not protocol violations. */
const CONNECT_TIMEOUT = 'connect did not arrive in time';
const KEEPALIVE_TIMEOUT = 'keep alive timeout';
/** Aedes failing the writes still pending on a connection it closes: a consequence, not a cause. */
const CONNECTION_CLOSED = 'connection closed';

export async function startBroker(cfg: BrokerConfig, rootLog: Logger): Promise<Broker> {
  const log = rootLog.child({ component: 'broker' });
  const refusals = newRefusals();
  const counters = new BrokerCounters();
  const identities = new WeakMap<Client, Identity>();
  const throttle = new AuthThrottle(cfg.authThrottle, log);

  // broker.cluster: sessions, retained messages and the routing between brokers in Redis
  // (several `machmon broker` behind one name); else FleetPersistence under dataDir/state.
  let persistence: FleetPersistence | RedisPersistence;
  let mq: ReturnType<typeof mqemitterRedis> | undefined;
  let fleet: FleetPersistence | undefined;
  let emitter: BoundedEmitter | undefined;
  const guarded = new Set<GuardedConnection>();
  const overload = { count: 0, heldMs: 0, since: 0 };
  /** Persistent sessions found on disk that have not reconnected since start; agents wait for them, at most cfg.readerGraceMs. */
  const awaited = new Set<string>();
  let graceTimer: NodeJS.Timeout | undefined;
  const agentsWait = () => awaited.size > 0 || emitter?.high === true;
  const isDevice = (conn: GuardedConnection) => {
    const client = conn.client as Client | undefined;
    const id = client ? identities.get(client) : undefined;
    return id !== undefined && !id.reader && !id.homeAssistant;
  };
  if (cfg.cluster) {
    persistence = new RedisPersistence({ ...redisOptions(cfg.cluster.redisUrl), maxSessionDelivery: cfg.cluster.maxSessionDelivery });
    mq = mqemitterRedis({ connectionString: cfg.cluster.redisUrl });
  } else {
    const dbDir = path.resolve(cfg.dataDir, 'state');
    const full = { last: 0, dropped: 0 };
    fleet = new FleetPersistence({
      dir: dbDir,
      maxQueuedMessages: cfg.maxQueuedMessages,
      onQueueFull: (clientId, queued) => {
        full.dropped++;
        const now = Date.now();
        if (now - full.last < 10_000) return;
        log.warn({ clientId, queued, dropped: full.dropped, limit: cfg.maxQueuedMessages }, 'session queue full, messages not queued (their agents send them again)');
        full.last = now;
        full.dropped = 0;
      },
    });
    try {
      mkdirSync(dbDir, { recursive: true });
      await fleet.open();
    } catch (err) {
      throttle.stop();
      throw new MachmonError('BROKER_START_FAILED', `broker: cannot open its session store ${dbDir} (another broker using this dataDir?): ${String((err as Error).cause ?? err)}`, { cause: err });
    }
    persistence = fleet;
    emitter = createBoundedEmitter({
      concurrency: AEDES_CONCURRENCY,
      highWater: cfg.maxPendingPublishes,
      fast: (topic) => topic.endsWith(CONFIRM_SUFFIX),
      lowWater: Math.floor(cfg.maxPendingPublishes / 2),
      onHigh: (waiting) => {
        overload.count++;
        overload.since = Date.now();
        let held = 0;
        for (const conn of guarded) {
          if (isDevice(conn)) {
            conn.hold();
            held++;
          }
        }
        log.warn({ waiting, limit: cfg.maxPendingPublishes, held }, 'overloaded: stopped reading from agents until the queue is down to half');
      },
      onLow: (waiting) => {
        const ms = Date.now() - overload.since;
        overload.heldMs += ms;
        if (!agentsWait()) for (const conn of guarded) conn.release();
        log.info({ waiting, heldMs: ms }, 'load back under the bound: reading from agents again');
      },
    });
  }

  /** The CN of the verified client certificate per TLS connection (broker.tls.requireClientCert). */
  const certNames = new WeakMap<object, string>();
  /** Aedes' connected clients by id (not in its typings), for the takeover check in authenticate. */
  const connected: { clients?: Record<string, Client | undefined> } = {};
  const auth = createAuthenticateHooks({
    login: cfg,
    throttle,
    refusals,
    identities,
    clientById: (id) => connected.clients?.[id],
    certNameOf: (client) => certNames.get(client.conn),
    log,
  });
  const broker = await Aedes.createBroker({
    persistence,
    ...(mq ? { mq } : emitter ? { mq: emitter.mq } : {}),
    concurrency: AEDES_CONCURRENCY,
    connectTimeout: cfg.connectTimeoutMs,
    preConnect: auth.preConnect,
    authenticate: auth.authenticate,
    authorizePublish: createAuthorizePublish({ identities, maxPayloadBytes: cfg.maxPayloadBytes, refusals, log, counters }),
    authorizeSubscribe: createAuthorizeSubscribe({ identities, refusals, log }),
    authorizeForward: createAuthorizeForward(identities, counters),
  });
  connected.clients = (broker as unknown as { clients: Record<string, Client | undefined> }).clients;
  if (cfg.readerGraceMs > 0) for (const id of fleet?.sessionIds() ?? []) awaited.add(id);

  // Not in Aedes' typings, but emitted (e.g. by its periodic sweep of stale Last Wills): without a listener it would kill the process.
  (broker as NodeJS.EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));
  broker.on('clientReady', (client) => {
    counters.logins++;
    log.info({ clientId: client.id, username: identities.get(client)?.username, credential: identities.get(client)?.credential, address: addressOf(client), clean: client.clean }, 'client connected');
    // A reader's writes wait for its socket to drain; an agent that logs in during an overload is held like the others.
    const conn = (client as unknown as { conn: unknown }).conn;
    if (conn instanceof GuardedConnection) {
      if (identities.get(client)?.reader) conn.patient = true;
      else if (agentsWait()) conn.hold();
    }
    if (client.id !== null && awaited.delete(client.id) && awaited.size === 0) openToAgents('persistent sessions back');
  });
  /** Ends the wait of a start for the persistent sessions: agents are read from (unless overloaded). */
  const openToAgents = (why: string) => {
    clearTimeout(graceTimer);
    const missing = [...awaited];
    awaited.clear();
    if (!agentsWait()) for (const conn of guarded) conn.release();
    log.info({ why, ...(missing.length ? { missing } : {}) }, 'reading from agents');
  };
  broker.on('clientDisconnect', (client) => log.info({ clientId: client.id, username: identities.get(client)?.username, address: addressOf(client) }, 'client disconnected'));
  const onClientError = (client: Client, err: Error) => {
    if (err instanceof RefusedError) return; // counted and logged where it was refused
    const where = { address: addressOf(client), clientId: client.id ?? undefined };
    if (err.message === CONNECTION_CLOSED) {
      log.debug({ ...where, err }, 'write to a closed connection dropped');
    } else if (err.message === CONNECT_TIMEOUT) {
      refusals.connect_timeout++;
      log.info({ ...where, timeoutMs: cfg.connectTimeoutMs }, 'no CONNECT in time, connection closed');
    } else if (err.message === KEEPALIVE_TIMEOUT) {
      log.info(where, 'keepalive timeout, connection closed');
    } else if ((err as NodeJS.ErrnoException).code) {
      log.info({ ...where, err }, 'connection error');
    } else {
      refusals.malformed_packet++;
      log.warn({ ...where, err }, 'protocol error, connection closed');
    }
  };
  broker.on('clientError', onClientError);
  broker.on('connectionError', onClientError);

  const onProblem = (problem: ConnectionProblem, conn: GuardedConnection) => {
    const address = conn.remoteAddress;
    switch (problem.kind) {
      case 'too_large':
        refusals.payload_too_large++;
        log.warn({ address, clientId: conn.client?.id ?? undefined, size: problem.remainingLength, limit: cfg.maxPayloadBytes }, 'payload too large, connection closed');
        break;
      case 'malformed':
        refusals.malformed_packet++;
        log.warn({ address, clientId: conn.client?.id ?? undefined, detail: problem.detail }, 'malformed packet, connection closed');
        break;
      case 'slow_consumer':
        refusals.slow_consumer++;
        log.warn({ address, clientId: conn.client?.id ?? undefined, bufferedBytes: problem.bufferedBytes, limit: cfg.maxOutgoingBufferBytes }, 'client does not read, connection closed');
        break;
    }
  };
  const guardOptions = { maxRemainingLength: cfg.maxPayloadBytes + HEADER_ROOM, maxOutgoingBufferBytes: cfg.maxOutgoingBufferBytes, onProblem, traffic: counters };

  const sockets = new Set<Duplex>();
  const accept = (socket: Duplex, raw: net.Socket, certName?: string) => {
    raw.setNoDelay(true);
    counters.connectionsAccepted++;
    sockets.add(socket);
    const conn = new GuardedConnection(socket, { address: raw.remoteAddress, port: raw.remotePort }, guardOptions);
    if (certName !== undefined) certNames.set(conn, certName);
    guarded.add(conn);
    socket.once('close', () => {
      sockets.delete(socket);
      guarded.delete(conn);
    });
    const client = broker.handle(conn);
    (client as unknown as { duplicates: object }).duplicates = NO_DEDUPE;
  };

  const figures: BrokerFigureSource = {
    counters,
    refusals,
    connections() {
      const n = { agent: 0, reader: 0, connecting: 0, held: 0 };
      for (const conn of guarded) {
        const client = conn.client as Client | undefined;
        const id = client ? identities.get(client) : undefined;
        if (!id) n.connecting++;
        else if (id.reader) n.reader++;
        else n.agent++;
        if (conn.held) n.held++;
      }
      return n;
    },
    retained: () => fleet?.retainedCount,
    queuedBySession: () => fleet?.queuedBySession(),
    load: () => ({
      pending: emitter?.waiting ?? 0,
      peakPending: emitter?.peakWaiting ?? 0,
      overloads: overload.count,
      overloadMs: overload.heldMs + (emitter?.high ? Date.now() - overload.since : 0),
      droppedQueued: fleet?.droppedTotal ?? 0,
    }),
  };

  const servers: net.Server[] = [];
  const started: Partial<Record<'port' | 'tlsPort' | 'wsPort', number>> = {};
  let stopping: Promise<void> | undefined;
  let metricsServer: MetricsServer | undefined;
  /** Set once every listener (TCP, TLS, WebSocket) listens. */
  let listening = false;
  try {
    // Self-metrics first: /healthz answers while the listeners start, /readyz once they all listen.
    if (cfg.metrics.enabled) {
      const registry = newRegistry();
      registerBrokerMetrics(registry, figures);
      metricsServer = await startMetricsServer({
        service: 'broker',
        host: cfg.metrics.host,
        port: cfg.metrics.port,
        registry,
        log,
        notReady: () => {
          if (stopping) return ['stopping'];
          if (!listening) return ['not listening yet'];
          const down = servers.filter((s) => !s.listening);
          return down.length ? [`${down.length} of ${servers.length} listeners closed`] : [];
        },
      });
    }

    const tcp = net.createServer((socket) => accept(socket, socket));
    servers.push(tcp);
    started.port = await listen(tcp, cfg.host, cfg.port);

    if (cfg.tls) {
      // requireClientCert: only certificates signed by tls.ca pass the handshake; their CN is the username.
      const clientCerts = cfg.tls.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: readPemFile('broker.tls.ca', cfg.tls.ca!) } : {};
      const secure = tls.createServer({ cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key), handshakeTimeout: cfg.connectTimeoutMs, ...clientCerts }, (socket) =>
        accept(socket, socket, cfg.tls!.requireClientCert ? String(socket.getPeerCertificate().subject?.CN ?? '') : undefined),
      );
      secure.on('tlsClientError', (err, socket) => log.info({ err, address: socket.remoteAddress }, 'TLS handshake failed'));
      servers.push(secure);
      started.tlsPort = await listen(secure, cfg.host, cfg.tls.port);
    }

    if (cfg.websocket) {
      const web = http.createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n'));
      const wss = new WebSocketServer({ server: web, maxPayload: guardOptions.maxRemainingLength + 5 });
      wss.on('connection', (ws, req) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => undefined); // reported by the GuardedConnection
        accept(stream, req.socket);
      });
      servers.push(web);
      started.wsPort = await listen(web, cfg.host, cfg.websocket.port);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await metricsServer?.stop();
    await new Promise<void>((r) => broker.close(() => r()));
    await persistence.destroy().catch(() => undefined);
    throttle.stop();
    if (err instanceof MachmonError && err.code === 'METRICS_START_FAILED') throw err;
    throw new MachmonError('BROKER_START_FAILED', `broker: cannot listen: ${(err as Error).message}`, { cause: err });
  }
  listening = true;
  log.info({ host: cfg.host, ...started, metricsPort: metricsServer?.port, dataDir: path.resolve(cfg.dataDir) }, 'broker listening');
  const publisher = startStatsPublisher(broker, figures, cfg.statsIntervalMs, log);
  log.info({ host: cfg.host, ...started, dataDir: path.resolve(cfg.dataDir) }, 'broker listening');
  if (awaited.size) {
    log.info({ sessions: [...awaited], graceMs: cfg.readerGraceMs }, 'agents wait until the persistent sessions are back');
    graceTimer = setTimeout(() => openToAgents('grace period over'), cfg.readerGraceMs);
    graceTimer.unref();
  }

  const stop = () =>
    (stopping ??= (async () => {
      publisher.stop();
      clearTimeout(graceTimer);
      const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      auth.flush();
      await new Promise<void>((r) => broker.close(() => r()));
      for (const s of sockets) s.destroy();
      await Promise.all(closed);
      throttle.stop();
      await persistence.destroy().catch((err: unknown) => log.warn({ err }, 'closing the session store failed'));
      await metricsServer?.stop();
      log.info('broker stopped');
    })());

  const reconfigure = (next: BrokerConfig) => {
    const dropped = auth.reconfigure(next, Object.values(connected.clients ?? {}).filter((c): c is Client => c !== undefined));
    for (const { client, identity, reason } of dropped) {
      refusals.dropped_on_reload++;
      log.warn({ address: addressOf(client), clientId: client.id, username: identity.username, reason }, 'client dropped on reload');
      client.close();
    }
    return { dropped: dropped.length };
  };

  const stats = (): BrokerStats => {
    const l = figures.load();
    return { waiting: l.pending, peakWaiting: l.peakPending, overloads: l.overloads, heldMs: l.overloadMs, droppedQueued: l.droppedQueued };
  };
  return { port: started.port!, tlsPort: started.tlsPort, wsPort: started.wsPort, metricsPort: metricsServer?.port, aedes: broker, refusals, reconfigure, stats, stop };
}

/** ioredis options from redis://[user:password@]host[:port][/db]. */
export function redisOptions(url: string): { host: string; port: number; username?: string; password?: string; db?: number } {
  const u = new URL(url);
  if (u.protocol !== 'redis:') throw new MachmonError('BROKER_START_FAILED', `broker.cluster.redisUrl must be redis://host[:port][/db], not ${u.protocol}//...`);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
  };
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
