// Publish and subscribe ACL: the pure rules, then real clients (MQTT.js agents, a
// mosquitto_sub reader as a person debugging would run it) on a real broker.
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostMatcher, mayPublish, mayReceive, maySubscribe } from '../../../broker/acl.js';
import { closeOf, collect, connect, subackCodes, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { mosquittoSub } from '../../../testkit/mosquitto.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const agent = { username: 'pi-1', reader: false };
const reader = { username: 'ingestor', reader: true };

describe('ACL rules', () => {
  it.each([
    [agent, 'machmon/pi-1/cpu', true],
    [agent, 'machmon/pi-1/status', true],
    [agent, 'machmon/pi-2/cpu', false],
    [agent, 'machmon/pi-1/confirm/stored', false],
    [agent, 'machmon/pi-1/confirm', false],
    [agent, 'machmon/pi-1', false],
    [agent, 'machmon/pi-1/', false],
    [agent, 'other/pi-1/cpu', false],
    [agent, '$SYS/broker/x', false],
    [agent, 'pi-1/cpu', false],
    [reader, 'machmon/pi-1/confirm/stored', true],
    [reader, 'machmon/ingestor/status', true],
    [reader, 'machmon/pi-1/cpu', false],
  ])('%o publishes %s: %s', (id, topic, ok) => {
    expect(mayPublish(id, topic)).toBe(ok);
  });

  it.each([
    [agent, 'machmon/pi-1/#', true],
    [agent, 'machmon/pi-1/confirm/#', true],
    [agent, 'machmon/pi-1/confirm/stored', true],
    [agent, 'machmon/pi-1/+', true],
    [agent, 'machmon/pi-1', false],
    [agent, 'machmon/#', false],
    [agent, 'machmon/+/confirm/stored', false],
    [agent, 'machmon/pi-2/confirm/#', false],
    [agent, '#', false],
    [agent, '+/pi-1/#', false],
    [agent, '$SYS/#', false],
    [reader, 'machmon/#', true],
    [reader, 'machmon/+/+', true],
    [reader, 'machmon/pi-1/cpu', true],
    [reader, '#', false],
    [reader, '$SYS/#', false],
    [reader, 'machmon', false],
  ])('%o subscribes %s: %s', (id, filter, ok) => {
    expect(maySubscribe(id, filter)).toBe(ok);
  });

  it('receives only what it may read', () => {
    expect(mayReceive(agent, 'machmon/pi-1/confirm/stored')).toBe(true);
    expect(mayReceive(agent, 'machmon/pi-10/confirm/stored')).toBe(false);
    expect(mayReceive(reader, 'machmon/pi-10/cpu')).toBe(true);
    expect(mayReceive(reader, '$SYS/x/heartbeat')).toBe(false);
  });

  it('matches allowedHosts exactly or by glob, only on hostname characters', () => {
    const m = hostMatcher(['raspberrypi', 'pi-*', 'lab?', 'a.b']);
    expect(['raspberrypi', 'pi-', 'pi-42', 'lab1', 'a.b'].every(m)).toBe(true);
    expect(['raspberrypi2', 'xpi-1', 'lab', 'lab12', 'aXb', 'pi-#', 'pi-+', 'pi-a/b', 'pi-a b'].some(m)).toBe(false);
  });
});

describe('ACL on a live broker', () => {
  let tb: TestBroker;
  const clients: MqttClient[] = [];
  const open = async (username: string, extra = {}) => {
    const c = await connect(tb.url, username, username === 'ingestor' ? READER_PASSWORD : PASSWORD, extra);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    tb = await startTestBroker();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await tb?.stop();
  });

  it('a reader gets every host\'s readings; a publish to another host\'s topic is refused and never arrives', async () => {
    const sub = mosquittoSub(tb.broker.port, 'ingestor', READER_PASSWORD, 'machmon/#');
    try {
      // mosquitto_sub has subscribed once a probe comes back through it.
      const probe = await open('ingestor');
      for (let i = 0; i < 50 && !sub.stdout.includes('probe'); i++) {
        await probe.publishAsync('machmon/pi-probe/confirm/stored', 'probe', { qos: 1 });
        await sleep(100);
      }
      await sub.waitFor('machmon/pi-probe/confirm/stored probe');

      const a = await open('agent-a');
      await a.publishAsync('machmon/agent-a/cpu', 'mine', { qos: 1 });
      await sub.waitFor('machmon/agent-a/cpu mine');

      const before = tb.broker.refusals.publish_denied;
      const closed = closeOf(a);
      a.publish('machmon/agent-b/cpu', 'forged', { qos: 1 });
      await closed; // Aedes answers a refused publish by closing the connection (no PUBACK)
      expect(tb.broker.refusals.publish_denied).toBe(before + 1);
      expect(tb.lines.some((l) => l.msg === 'publish refused' && l.topic === 'machmon/agent-b/cpu' && l.username === 'agent-a')).toBe(true);

      const b = await open('agent-b');
      await b.publishAsync('machmon/agent-b/cpu', 'real', { qos: 1 });
      await sub.waitFor('machmon/agent-b/cpu real');
      expect(sub.stdout).not.toContain('forged');
    } finally {
      await sub.stop();
    }
  });

  it('an agent subscribing to machmon/# gets SUBACK 128 and nothing', async () => {
    const a = await open('agent-a');
    const got = collect(a);
    expect(await subackCodes(a, 'machmon/#')).toEqual([128]);
    expect(await subackCodes(a, ['machmon/+/cpu', '#', 'machmon/agent-b/confirm/#', 'machmon/agent-a/confirm/#'])).toEqual([128, 128, 128, 1]);
    expect(a.connected).toBe(true); // a refused subscription does not cost the connection

    const b = await open('agent-b');
    await b.publishAsync('machmon/agent-b/cpu', 'b-reading', { qos: 1 });
    const r = await open('ingestor');
    await r.publishAsync('machmon/agent-b/confirm/stored', 'b-confirm', { qos: 1 });
    await sleep(200);
    expect(got).toEqual([]);
    expect(tb.lines.some((l) => l.msg === 'subscribe refused' && l.filter === 'machmon/#')).toBe(true);
  });

  it('an agent reads its own confirm topic and not another host\'s', async () => {
    const a = await open('agent-a');
    const got = collect(a);
    expect(await subackCodes(a, 'machmon/agent-a/confirm/#')).toEqual([1]);
    const r = await open('ingestor');
    await r.publishAsync('machmon/agent-b/confirm/stored', 'for-b', { qos: 1 });
    await r.publishAsync('machmon/agent-a/confirm/stored', 'for-a', { qos: 1 });
    await waitFor('confirmation for agent-a', () => got.length > 0);
    await sleep(100);
    expect(got).toEqual(['machmon/agent-a/confirm/stored for-a']);
  });

  it.each([
    ['its own', 'machmon/agent-a/confirm/stored'],
    ['another host\'s', 'machmon/agent-b/confirm/stored'],
  ])('a forged confirmation from a non-reader to %s confirm topic is refused', async (_what, topic) => {
    const target = topic.split('/')[1]!;
    const victim = await open(target, { clientId: `victim-${target}` });
    const got = collect(victim);
    await victim.subscribeAsync(`machmon/${target}/confirm/#`, { qos: 1 });
    const forger = await open('agent-a', { clientId: 'forger' });
    const before = tb.broker.refusals.publish_denied;
    const closed = closeOf(forger);
    forger.publish(topic, 'forged', { qos: 1 });
    await closed;
    await sleep(100);
    expect(tb.broker.refusals.publish_denied).toBe(before + 1);
    expect(got).toEqual([]);
  });

  it('$SYS stays closed to publishers and subscribers', async () => {
    const r = await open('ingestor');
    expect(await subackCodes(r, '$SYS/#')).toEqual([128]);
    const closed = closeOf(r);
    r.publish('$SYS/fake', 'x', { qos: 1 });
    await closed;
  });

  it('mosquitto_sub as an agent on machmon/# is refused and receives nothing', async () => {
    const sub = mosquittoSub(tb.broker.port, 'agent-a', PASSWORD, 'machmon/#', ['-W', '2']);
    try {
      await waitFor('refusal of mosquitto_sub', () => tb.lines.some((l) => l.msg === 'subscribe refused' && l.username === 'agent-a' && l.filter === 'machmon/#'));
      const b = await open('agent-b');
      await b.publishAsync('machmon/agent-b/cpu', 'secret', { qos: 1 });
      await sub.exited;
      expect(sub.stdout).toBe('');
    } finally {
      await sub.stop();
    }
  });
});
