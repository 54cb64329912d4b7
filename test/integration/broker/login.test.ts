// Login matrix against a real broker, with MQTT.js and with mosquitto_pub as a user would run
// it (README "Security model": 4 for a password that opens nothing, 5 for a right secret used
// where it does not belong).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, refusalCode, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { runProc } from '../../../testkit/processes.js';
import { hostKey } from '../../../broker/credentials.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb?.stop();
});

describe('login with MQTT.js', () => {
  it.each([
    ['exact allowed host, right password', 0, 'raspberrypi', PASSWORD],
    ['glob pi-* host', 0, 'pi-kitchen-7', PASSWORD],
    ['glob host-? host', 0, 'host-x', PASSWORD],
    ['reader (not in allowedHosts) with the reader password', 0, 'ingestor', READER_PASSWORD],
    ['reader with the fleet password (an agent credential: on every Pi)', 5, 'ingestor', PASSWORD],
    ['host with the reader password (readers are not agents either)', 5, 'raspberrypi', READER_PASSWORD],
    ['reader name with a wrong password', 4, 'ingestor', 'wrong'],
    ['wrong password', 4, 'raspberrypi', 'wrong'],
    ['password differing by a trailing space', 4, 'raspberrypi', `${PASSWORD} `],
    ['password in another Unicode normalisation', 4, 'raspberrypi', PASSWORD.normalize('NFD')],
    ['empty password', 4, 'raspberrypi', ''],
    ['no password', 4, 'raspberrypi', undefined],
    ['unknown host, wrong password (the password is checked first)', 4, 'stranger', 'wrong'],
    ['unknown host, right password', 5, 'stranger', PASSWORD],
    ['glob host-? does not take two characters', 5, 'host-xy', PASSWORD],
    ['hosts are case-sensitive like topics', 5, 'RaspberryPi', PASSWORD],
  ] as const)('%s -> CONNACK %i', async (_what, code, username, password) => {
    expect(await refusalCode(tb.url, username, password)).toBe(code);
  });

  it('names the role mix-up in the refusal: an agent credential as a reader, the reader password as an agent', async () => {
    const before = { ...tb.broker.refusals };
    expect(await refusalCode(tb.url, 'ingestor', PASSWORD)).toBe(5);
    expect(await refusalCode(tb.url, 'pi-1', READER_PASSWORD)).toBe(5);
    expect(tb.broker.refusals.agent_credential_for_reader).toBe(before.agent_credential_for_reader + 1);
    expect(tb.broker.refusals.reader_credential_for_agent).toBe(before.reader_credential_for_agent + 1);
    expect(JSON.stringify(tb.lines)).not.toContain(READER_PASSWORD);
  });

  it('counts refusals by reason and logs address and reason, never the password', async () => {
    const before = { ...tb.broker.refusals };
    expect(await refusalCode(tb.url, 'pi-1', 'nope')).toBe(4);
    expect(await refusalCode(tb.url, 'nobody', PASSWORD)).toBe(5);
    expect(tb.broker.refusals.bad_password).toBe(before.bad_password + 1);
    expect(tb.broker.refusals.host_not_allowed).toBe(before.host_not_allowed + 1);
    const refused = tb.lines.filter((l) => l.msg === 'login refused');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ address: '127.0.0.1' });
    expect(typeof refused[0]!.reason).toBe('string');
    const all = JSON.stringify(tb.lines);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain('nope');
  });

  it('refuses usernames that are not hostnames even when a glob would take anything', async () => {
    const open = await startTestBroker({ allowedHosts: ['*'] });
    try {
      expect(await refusalCode(open.url, 'any-host.local', PASSWORD)).toBe(0);
      for (const name of ['+', '#', 'a/b', 'pi 1', '']) {
        expect(await refusalCode(open.url, name, PASSWORD), name).not.toBe(0);
      }
      expect(open.broker.refusals.bad_username).toBe(4); // '' is no username at all: no_username
    } finally {
      await open.stop();
    }
  });

  it('refuses a Last Will on another host\'s topic (CONNACK 5), accepts one on its own', async () => {
    const own = await connect(tb.url, 'pi-1', PASSWORD, { will: { topic: 'machmon/pi-1/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
    await own.endAsync();
    await expect(connect(tb.url, 'pi-1', PASSWORD, { will: { topic: 'machmon/pi-2/status', payload: Buffer.from('offline'), qos: 1, retain: true } })).rejects.toMatchObject({ code: 5 });
  });

  it('does not let another username take over a connected client id', async () => {
    const ingestor = await connect(tb.url, 'ingestor', READER_PASSWORD, { clientId: 'machmon-ingestor', clean: false });
    try {
      await expect(connect(tb.url, 'pi-1', PASSWORD, { clientId: 'machmon-ingestor' })).rejects.toMatchObject({ code: 2 });
      expect(ingestor.connected).toBe(true);
    } finally {
      await ingestor.endAsync();
    }
  });
});

describe('login with mosquitto_pub', () => {
  const pub = (username: string, password: string | undefined) =>
    runProc('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tb.broker.port), '-V', 'mqttv311', '-u', username, ...(password === undefined ? [] : ['-P', password]), '-t', `machmon/${username}/status`, '-m', 'online']);

  it('connects with the right password (spaces and unicode in it)', async () => {
    const r = await pub('pi-mosquitto', PASSWORD);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.each([
    ['wrong password', 'raspberrypi', 'wrong', 'bad user name or password'],
    ['empty password', 'raspberrypi', '', 'bad user name or password'],
    ['no password', 'raspberrypi', undefined, 'bad user name or password'],
    ['unknown host', 'stranger', PASSWORD, 'not authorised'],
    ['the reader with the fleet password', 'ingestor', PASSWORD, 'not authorised'],
  ] as const)('%s is refused', async (_what, username, password, message) => {
    const r = await pub(username, password);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });
});

describe('host keys (broker.auth)', () => {
  const key = (host: string) => hostKey(PASSWORD, host);
  const brokers: TestBroker[] = [];
  const withAuth = async (auth: string, extra: Record<string, unknown> = {}) => {
    const b = await startTestBroker({ auth, revokedHosts: ['pi-lost'], ...extra });
    brokers.push(b);
    return b;
  };
  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
  });

  it.each([
    ['hostKeys', 'its own key', 0, 'pi-kitchen', key('pi-kitchen')],
    ['hostKeys', "another host's key (a stolen card speaks only for its own host)", 4, 'pi-garage', key('pi-kitchen')],
    ['hostKeys', 'the fleet password', 5, 'pi-kitchen', PASSWORD],
    ['hostKeys', 'a revoked host with its key', 5, 'pi-lost', key('pi-lost')],
    ['hostKeys', 'a host outside allowedHosts with its key', 5, 'laptop', key('laptop')],
    ['hostKeys', 'a key typed in upper case', 4, 'pi-kitchen', key('pi-kitchen').toUpperCase()],
    ['hostKeys', "a reader's name with the key derived for it", 5, 'ingestor', key('ingestor')],
    ['hostKeys', 'the reader with its own password', 0, 'ingestor', READER_PASSWORD],
    ['both', 'a host key', 0, 'pi-kitchen', key('pi-kitchen')],
    ['both', 'the fleet password', 0, 'pi-kitchen', PASSWORD],
    ['both', 'a revoked host with the fleet password', 5, 'pi-lost', PASSWORD],
    ['fleetPassword', 'a host key', 5, 'pi-kitchen', key('pi-kitchen')],
    ['fleetPassword', 'the fleet password', 0, 'pi-kitchen', PASSWORD],
  ] as const)('auth %s: %s -> CONNACK %i', async (auth, _what, code, username, password) => {
    const b = brokers.find((x) => x.cfg.auth === auth) ?? (await withAuth(auth));
    expect(await refusalCode(b.url, username, password)).toBe(code);
  });

  it('a host logged in with its key publishes only under its own name, and the key never reaches the log', async () => {
    const b = brokers.find((x) => x.cfg.auth === 'hostKeys') ?? (await withAuth('hostKeys'));
    const c = await connect(b.url, 'pi-kitchen', key('pi-kitchen'));
    await c.publishAsync('machmon/pi-kitchen/status', 'online', { qos: 1 });
    const before = b.broker.refusals.publish_denied;
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('machmon/pi-garage/cpu', 'forged', { qos: 1 });
    await closed;
    expect(b.broker.refusals.publish_denied).toBe(before + 1);
    expect(JSON.stringify(b.lines)).not.toContain(key('pi-kitchen'));
    c.end(true);
  });
});
