import { describe, expect, it } from 'vitest';
import { brokerAddress } from '../../../../agent/parse/broker-url.js';
import { streamBuilder } from '../../../../agent/runtime/publisher.js';

describe('brokerAddress', () => {
  it.each([
    ['mqtt://monitor.lan', { secure: false, host: 'monitor.lan', port: 1883 }],
    ['mqtt://monitor.lan:1884', { secure: false, host: 'monitor.lan', port: 1884 }],
    ['tcp://10.0.0.2', { secure: false, host: '10.0.0.2', port: 1883 }],
    ['mqtts://monitor.lan', { secure: true, host: 'monitor.lan', port: 8883 }],
    ['mqtts://monitor.lan:9883/', { secure: true, host: 'monitor.lan', port: 9883 }],
    ['ssl://monitor.lan', { secure: true, host: 'monitor.lan', port: 8883 }],
    ['tls://monitor.lan', { secure: true, host: 'monitor.lan', port: 8883 }],
    ['mqtt://[::1]:1884', { secure: false, host: '::1', port: 1884 }],
  ])('%s', (url, want) => {
    expect(brokerAddress(url)).toEqual(want);
  });

  it('refuses what the agent does not speak, naming the URL', async () => {
    expect(() => brokerAddress('ws://monitor.lan:8080/mqtt')).toThrow(/ws:\/\/monitor\.lan:8080\/mqtt: the agent speaks mqtt:\/\/, tcp:\/\/, mqtts:\/\//);
    expect(() => brokerAddress('monitor.lan:1883')).toThrow(/monitor\.lan:1883/);
    expect(() => brokerAddress('no url')).toThrow(/no url is not a URL/);
    await expect(streamBuilder('wss://monitor.lan')).rejects.toThrow(/the agent speaks/);
  });
});
