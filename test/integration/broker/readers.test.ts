// Readers are not agents (README "Security model"): what someone holding one Pi's card (the
// fleet password in /etc/machmon/agent.json) can do against a real broker. They cannot log in
// as the ingestor, so cannot read the fleet or take over its session; as an agent they can
// neither read machmon/# nor publish the confirmations that make agents delete readings. The
// ingestor with the readers' own password does both.
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../common/config.js';
import { startIngestor } from '../../../ingestor/ingestor.js';
import { closeOf, collect, connect, refusalCode, startTestBroker, subackCodes, type TestBroker } from '../../../testkit/broker.js';
import { captureLog } from '../../../testkit/log.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

describe('the fleet password opens no reader login', () => {
  let tb: TestBroker;
  const clients: MqttClient[] = [];
  const open = async (username: string, password: string, clientId?: string) => {
    const c = await connect(tb.url, username, password, clientId ? { clientId, clean: false } : {});
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    tb = await startTestBroker({ readers: ['ingestor', 'alice'] });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await tb?.stop();
  });

  it('an agent credential is refused as every reader (CONNACK 5), counted by reason', async () => {
    const before = tb.broker.refusals.agent_credential_for_reader;
    expect(await refusalCode(tb.url, 'ingestor', PASSWORD)).toBe(5);
    expect(await refusalCode(tb.url, 'alice', PASSWORD)).toBe(5);
    expect(tb.broker.refusals.agent_credential_for_reader).toBe(before + 2);
    // Not even with the ingestor's client id while the ingestor is away: its session stays its own.
    await expect(connect(tb.url, 'ingestor', PASSWORD, { clientId: 'machmon-ingestor-ingestor', clean: false })).rejects.toMatchObject({ code: 5 });
  });

  it('an agent can neither subscribe machmon/# (SUBACK 128) nor publish a confirmation for another host', async () => {
    const victim = await open('pi-victim', PASSWORD);
    const victimGot = collect(victim);
    await victim.subscribeAsync('machmon/pi-victim/confirm/#', { qos: 1 });
    const ingestor = await open('ingestor', READER_PASSWORD, 'machmon-ingestor-ingestor');
    const ingestorGot = collect(ingestor);
    await ingestor.subscribeAsync('machmon/+/+', { qos: 1 });

    const thief = await open('pi-stolen', PASSWORD);
    const thiefGot = collect(thief);
    expect(await subackCodes(thief, ['machmon/#', 'machmon/+/+', 'machmon/pi-victim/#'])).toEqual([128, 128, 128]);
    const before = tb.broker.refusals.publish_denied;
    const closed = closeOf(thief);
    thief.publish('machmon/pi-victim/confirm/stored', JSON.stringify({ ranges: [[1, 1000]] }), { qos: 1 });
    await closed; // refused: Aedes closes the connection (MQTT 3.1.1 has no negative PUBACK)
    expect(tb.broker.refusals.publish_denied).toBe(before + 1);

    // The real ingestor's confirmation and the victim's readings still flow.
    await victim.publishAsync('machmon/pi-victim/cpu', 'reading', { qos: 1 });
    await waitFor('the reading at the ingestor', () => ingestorGot.includes('machmon/pi-victim/cpu reading'));
    await ingestor.publishAsync('machmon/pi-victim/confirm/stored', 'genuine', { qos: 1 });
    await waitFor('the genuine confirmation', () => victimGot.length > 0);
    await sleep(100);
    expect(victimGot).toEqual(['machmon/pi-victim/confirm/stored genuine']);
    expect(thiefGot).toEqual([]);
  });

  it('an ingestor left on the fleet password (an old config) is refused and says what to change', async () => {
    const { log, lines } = captureLog('info');
    const cfg = loadConfig({ raw: { ingestor: { brokerUrl: tb.url, password: PASSWORD, influx: { url: inject('influxUrl'), database: 't_readers_unused' } } }, sections: ['ingestor'], env: {} }).ingestor!;
    const ingestor = await startIngestor(cfg, log);
    try {
      await waitFor('the refusal in the ingestor log', () => lines.some((l) => l.msg === 'MQTT error'));
      const line = lines.find((l) => l.msg === 'MQTT error')!;
      expect(line.hint).toContain('ingestor.password must be broker.readerPassword (not the fleet password)');
      expect(JSON.stringify(lines)).not.toContain(PASSWORD);
    } finally {
      await ingestor.stop();
    }
  });
});
