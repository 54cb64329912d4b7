// The Home Assistant role of broker/acl.ts and its config (README "Security model", "Home
// Assistant"): the rules as pure functions, and the config refusing what would weaken them.
import { describe, expect, it } from 'vitest';
import { mayPublish, mayReceive, maySubscribe, type Role } from '../../../broker/acl.js';
import { loginPolicy } from '../../../broker/credentials.js';
import { loadConfig } from '../../../common/config.js';
import { ConfigError } from '../../../common/errors.js';

const ha = { discoveryPrefix: 'homeassistant', statePrefix: 'machmon-ha' };
const HA: Role = { username: 'homeassistant', reader: false, homeAssistant: true, ha };
const READER: Role = { username: 'ingestor', reader: true, ha };
const AGENT: Role = { username: 'pi-a', reader: false, ha };

const broker = (extra: Record<string, unknown>) => loadConfig({ raw: { broker: { secretPassword: 'fleet', readerPassword: 'reader', ...extra } }, sections: ['broker'], env: {} }).broker!;

describe('the Home Assistant role', () => {
  it('publishes its birth message and nothing else', () => {
    expect(mayPublish(HA, 'homeassistant/status')).toBe(true);
    for (const t of ['homeassistant/sensor/machmon_pi-a/cpu_use/config', 'machmon-ha/pi-a/state', 'machmon/pi-a/cpu', 'machmon/pi-a/confirm/stored', 'machmon/homeassistant/cpu', 'machmon/pi-a/status']) expect(mayPublish(HA, t), t).toBe(false);
    expect(mayPublish(HA, 'machmon/pi-a/status', { clearsRetained: true })).toBe(false);
  });

  it('reads the discovery and state prefixes only', () => {
    for (const f of ['homeassistant/#', 'homeassistant/+/+/+/config', 'machmon-ha/#', 'homeassistant/status']) expect(maySubscribe(HA, f), f).toBe(true);
    for (const f of ['#', '+/#', 'machmon/#', 'machmon/pi-a/status', 'homeassistant', 'machmon-hax/#', '$SYS/#']) expect(maySubscribe(HA, f), f).toBe(false);
    expect(mayReceive(HA, 'machmon-ha/pi-a/state')).toBe(true);
    expect(mayReceive(HA, 'machmon/pi-a/status')).toBe(false);
  });

  it('lets readers publish discovery and states, and delete (only delete) a status; agents neither', () => {
    expect(mayPublish(READER, 'homeassistant/sensor/machmon_pi-a/cpu_use/config')).toBe(true);
    expect(mayPublish(READER, 'machmon-ha/pi-a/state')).toBe(true);
    expect(mayPublish(READER, 'machmon/pi-a/status', { clearsRetained: true })).toBe(true);
    expect(mayPublish(READER, 'machmon/pi-a/status')).toBe(false);
    expect(mayPublish(READER, 'machmon/pi-a/cpu', { clearsRetained: true })).toBe(false);
    expect(mayPublish(AGENT, 'homeassistant/sensor/x/y/config')).toBe(false);
    expect(maySubscribe(AGENT, 'machmon-ha/#')).toBe(false);
    expect(mayPublish({ username: 'ingestor', reader: true }, 'homeassistant/sensor/x/y/config')).toBe(false); // no broker.homeAssistant
  });

  it('opens its login with its own password only', () => {
    const policy = loginPolicy(broker({ homeAssistant: { password: 'ha-secret' }, allowedHosts: ['*'] }));
    expect(policy.check('homeassistant', Buffer.from('ha-secret'))).toEqual({ identity: { username: 'homeassistant', reader: false, homeAssistant: true, credential: 'homeAssistantPassword', ha } });
    expect(policy.check('homeassistant', Buffer.from('reader'))).toEqual({ refused: 'wrong_credential_for_home_assistant' });
    expect(policy.check('homeassistant', Buffer.from('fleet'))).toEqual({ refused: 'wrong_credential_for_home_assistant' });
    expect(policy.check('pi-a', Buffer.from('ha-secret'))).toEqual({ refused: 'home_assistant_credential_for_other' });
    expect(policy.check('ingestor', Buffer.from('ha-secret'))).toEqual({ refused: 'agent_credential_for_reader' });
    expect('refused' in loginPolicy(broker({ allowedHosts: ['*'] })).check('homeassistant', Buffer.from('ha-secret'))).toBe(true);
  });

  it('refuses a config that would weaken it', () => {
    expect(() => broker({ homeAssistant: {} })).toThrow(/broker\.homeAssistant\.password: required/);
    expect(() => broker({ homeAssistant: { password: 'reader' } })).toThrow(/homeAssistant\.password: must differ/);
    expect(() => broker({ homeAssistant: { password: 'fleet' } })).toThrow(ConfigError);
    expect(() => broker({ homeAssistant: { password: 'x', username: 'ingestor' } })).toThrow(/homeAssistant\.username: is also in broker\.readers/);
    expect(() => broker({ homeAssistant: { password: 'x', statePrefix: 'machmon' } })).toThrow(/statePrefix: must not be under machmon/);
    expect(() => broker({ homeAssistant: { password: 'x', statePrefix: 'homeassistant/machmon' } })).toThrow(/statePrefix: must differ from discoveryPrefix/);
    expect(() => broker({ homeAssistant: { password: 'x', discoveryPrefix: 'home+assistant' } })).toThrow(/discoveryPrefix: must be topic levels/);
    const ingestor = (extra: Record<string, unknown>) => loadConfig({ raw: { ingestor: { password: 'reader', ...extra } }, sections: ['ingestor'], env: {} }).ingestor!;
    expect(ingestor({ homeAssistant: {} }).homeAssistant).toMatchObject({ enabled: true, discoveryPrefix: 'homeassistant', statePrefix: 'machmon-ha', deviceDiscovery: false });
    expect(() => ingestor({ homeAssistant: {}, sharedGroup: 'g' })).toThrow(/ingestor\.homeAssistant: cannot be on with ingestor\.sharedGroup/);
    expect(() => ingestor({ homeAssistant: { configurationUrl: 'grafana' } })).toThrow(/configurationUrl/);
  });
});
