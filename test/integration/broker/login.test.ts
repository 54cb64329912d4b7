// Login matrix against a real broker, with MQTT.js and with mosquitto_pub as a user would run it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, refusalCode, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { PASSWORD } from '../../../testkit/configs.js';
import { runProc } from '../../../testkit/processes.js';

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
    ['reader (not in allowedHosts)', 0, 'ingestor', PASSWORD],
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
    const ingestor = await connect(tb.url, 'ingestor', PASSWORD, { clientId: 'machmon-ingestor', clean: false });
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
  ] as const)('%s is refused', async (_what, username, password, message) => {
    const r = await pub(username, password);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });
});
