// A throwaway PKI made with openssl as the README's "Security model" lines do: a CA for the
// broker's own certificate (127.0.0.1), a fleet CA signing one client certificate per name
// (CN = the name), and a rogue CA with a certificate for the first name.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestPki {
  /** CA of the broker's certificate, for the clients' `ca` / --cafile. */
  serverCa: string;
  serverCert: string;
  serverKey: string;
  /** The CA for broker.tls.ca. */
  fleetCa: string;
  /** name -> its client certificate and key, signed by the fleet CA. */
  client(name: string): { cert: string; key: string };
  /** A certificate for the first name, signed by a CA the broker does not know. */
  rogue: { cert: string; key: string };
}

export function makeTestPki(dir: string, names: readonly string[]): TestPki {
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  const ca = (name: string) => run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`]);
  const sign = (caName: string, cn: string, out: string, ext: string[] = []) => {
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${out}.key`, '-out', `${out}.csr`]);
    run(['x509', '-req', '-in', `${out}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-days', '1', '-out', `${out}.pem`, ...ext]);
  };
  const file = (name: string) => path.join(dir, name);
  ca('server-ca');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  sign('server-ca', '127.0.0.1', 'server', ['-extfile', 'server.ext']);
  ca('fleet-ca');
  for (const n of names) sign('fleet-ca', n, `client-${n}`);
  ca('rogue-ca');
  sign('rogue-ca', names[0]!, 'rogue');
  return {
    serverCa: file('server-ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    fleetCa: file('fleet-ca.pem'),
    client: (n) => ({ cert: file(`client-${n}.pem`), key: file(`client-${n}.key`) }),
    rogue: { cert: file('rogue.pem'), key: file('rogue.key') },
  };
}
