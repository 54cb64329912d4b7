import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/errors.js';
import { envKeys, loadConfig } from '../../../common/config.js';

const load = (raw: Record<string, unknown>, env: Record<string, string> = {}, sections: ('broker' | 'agent' | 'ingestor')[] = ['broker']) =>
  loadConfig({ raw: raw as never, source: 'test.json', sections, env });

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('fills the defaults of README "Configuration reference"', () => {
    const c = load({ broker: { secretPassword: 's', readerPassword: 'r' }, agent: { password: 'p' }, ingestor: { password: 'p' } }, {}, ['broker', 'agent', 'ingestor']);
    expect(c.broker).toMatchObject({ host: '0.0.0.0', port: 1883, allowedHosts: ['raspberrypi', 'pi-*'], readers: ['ingestor'], auth: 'fleetPassword', revokedHosts: [], maxPayloadBytes: 262144, dataDir: './data/broker' });
    expect(c.agent).toMatchObject({ brokerUrl: 'mqtt://127.0.0.1:1883', intervalMs: 10000, dataDir: './data/agent' });
    expect(c.agent!.metrics.process).toMatchObject({ intervalMs: 30000, top: 10 });
    expect(c.agent!.temperature).toMatchObject({ sysfsRoot: '/', sources: ['w1', 'thermal', 'gpio', 'mock'] });
    expect(c.ingestor!.influx).toMatchObject({ url: 'http://127.0.0.1:8086', apiVersion: 1, database: 'metrics', retentionPolicy: 'Monthly', retentionDuration: '4w' });
    expect(c.ingestor).toMatchObject({ batchSize: 5000, flushIntervalMs: 1000, username: 'ingestor' });
    expect(c.log).toEqual({ level: 'info', file: null });
    expect(Object.isFrozen(c.broker!.allowedHosts)).toBe(true);
  });

  it.each([
    [{ broker: { secretPassword: 's', readerPassword: 'r', port: 'x' } }, 'broker.port'],
    [{ broker: { secretPassword: 's', readerPassword: 'r', port: 70000 } }, 'broker.port'],
    [{ broker: {} }, 'broker.secretPassword'],
    [{ broker: { secretPassword: '' } }, 'broker.secretPassword'],
    [{ broker: { secretPassword: 's', readerPassword: 'r', colour: 'red' } }, 'broker.colour: unknown key'],
    [{ broker: { secretPassword: 's', readerPassword: 'r', tls: { cert: 'c' } } }, 'broker.tls.key'],
    [{ broker: { secretPassword: 's', readerPassword: 'r', allowedHosts: ['pi 1'] } }, 'broker.allowedHosts.0'],
    [{ broker: { secretPassword: 's', readerPassword: 'r' }, logs: {} }, 'logs: unknown key'],
    [{ broker: { secretPassword: 's', readerPassword: 'r' }, log: { level: 'loud' } }, 'log.level'],
  ])('names the bad key: %j', (raw, key) => {
    expect(errorOf(() => load(raw)).message).toContain(key);
  });

  it('readers have a password of their own: a config without one, or with the fleet password, names broker.readerPassword', () => {
    const missing = errorOf(() => load({ broker: { secretPassword: 's' } })).message;
    expect(missing).toMatch(/broker\.readerPassword: required: the password of broker\.readers, not the fleet password \(see README "Security model"\)/);
    const same = errorOf(() => load({ broker: { secretPassword: 's', readerPassword: 's' } })).message;
    expect(same).toContain('broker.readerPassword: must differ from broker.secretPassword');
    const fromEnv = errorOf(() => load({}, { MACHMON_BROKER_SECRET_PASSWORD: 'x', MACHMON_BROKER_READER_PASSWORD: 'x' })).message;
    expect(fromEnv).toContain('(from MACHMON_BROKER_READER_PASSWORD)');
  });

  it('auth mode and revoked hosts come from the file or MACHMON_* variables', () => {
    const c = load({ broker: { secretPassword: 's', readerPassword: 'r' } }, { MACHMON_BROKER_AUTH: 'hostKeys', MACHMON_BROKER_REVOKED_HOSTS: 'pi-lost, pi-stolen' });
    expect(c.broker).toMatchObject({ auth: 'hostKeys', revokedHosts: ['pi-lost', 'pi-stolen'] });
    expect(errorOf(() => load({ broker: { secretPassword: 's', readerPassword: 'r', auth: 'keys' } })).message).toMatch(/broker\.auth: .*"fleetPassword"\|"hostKeys"\|"both"/);
    expect(errorOf(() => load({ broker: { secretPassword: 's', readerPassword: 'r', revokedHosts: ['pi-*'] } })).message).toContain('broker.revokedHosts.0');
  });

  it('names the key of a missing required value in a section the command needs', () => {
    const err = errorOf(() => load({}, {}, ['agent', 'ingestor']));
    expect(err.message).toContain('agent.password');
    expect(err.message).toContain('ingestor.password');
  });

  it('agent.brokerUrl is mqtt:// or mqtts:// (the agent has no WebSocket transport)', () => {
    for (const url of ['mqtt://monitor.lan', 'mqtts://monitor.lan:8883', 'mqtt://10.0.0.2:1883/', 'mqtt://[::1]:1883']) {
      expect(load({ agent: { password: 'p', brokerUrl: url } }, {}, ['agent']).agent!.brokerUrl).toBe(url);
    }
    for (const url of ['ws://monitor.lan:8080/mqtt', 'monitor.lan:1883', 'mqtt://monitor.lan/x']) {
      expect(errorOf(() => load({ agent: { password: 'p', brokerUrl: url } }, {}, ['agent'])).message).toMatch(/agent\.brokerUrl: must be mqtt:\/\/host\[:port\] or mqtts:\/\/host\[:port\]/);
    }
  });

  it('does not validate sections the command does not use', () => {
    expect(load({ broker: { secretPassword: 's', readerPassword: 'r' }, agent: { nonsense: true } }).broker!.port).toBe(1883);
  });

  it('MACHMON_* variables override keys, typed by the schema', () => {
    const c = load(
      { broker: { secretPassword: 'file', readerPassword: 'r' } },
      { MACHMON_BROKER_SECRET_PASSWORD: 'env pw', MACHMON_BROKER_PORT: '1884', MACHMON_BROKER_ALLOWED_HOSTS: 'a, pi-*', MACHMON_LOG_LEVEL: 'debug' },
    );
    expect(c.broker).toMatchObject({ secretPassword: 'env pw', port: 1884, allowedHosts: ['a', 'pi-*'] });
    expect(c.log.level).toBe('debug');
  });

  it('a string variable keeps digits as text', () => {
    expect(load({}, { MACHMON_BROKER_SECRET_PASSWORD: '12345', MACHMON_BROKER_READER_PASSWORD: '678' }).broker!.secretPassword).toBe('12345');
  });

  it('a bad environment value names the variable', () => {
    const err = errorOf(() => load({ broker: { secretPassword: 's', readerPassword: 'r' } }, { MACHMON_BROKER_PORT: 'eighty' }));
    expect(err.message).toMatch(/broker\.port: .*\(from MACHMON_BROKER_PORT\)/);
  });

  it('derives one variable per leaf key', () => {
    const names = envKeys().map((k) => k.variable);
    expect(names).toContain('MACHMON_INGESTOR_INFLUX_URL');
    expect(names).toContain('MACHMON_AGENT_TEMPERATURE_SYSFS_ROOT');
    expect(new Set(names).size).toBe(names.length);
  });
});
