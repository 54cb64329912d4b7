// A plain Aedes broker on 127.0.0.1 (in-memory persistence, no auth unless options say so),
// for suites that test a client of the broker rather than the broker itself (agent runtime,
// ingestor). Restartable on the same port.
import net from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';

export interface PlainBroker {
  readonly url: string;
  readonly port: number;
  readonly aedes: Aedes;
  /** Destroys every connection (no DISCONNECT: wills fire) and closes the broker. */
  close(): Promise<void>;
  /** Destroys the broker side of every connection of this client id. */
  dropClient(clientId: string): void;
}

export async function startPlainBroker(port = 0, options: AedesOptions = {}): Promise<PlainBroker> {
  const aedes = await Aedes.createBroker(options);
  const server = net.createServer(aedes.handle as (socket: net.Socket) => void);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as net.AddressInfo).port;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    url: `mqtt://127.0.0.1:${actual}`,
    port: actual,
    aedes,
    dropClient: (clientId) => {
      const c = (aedes as unknown as { clients: Record<string, { conn: net.Socket }> }).clients[clientId];
      c?.conn.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}
