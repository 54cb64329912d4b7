// systeminformation results recorded on real machines or taken from its documentation
// (test/fixtures/si/, origins in test/fixtures/SOURCES.md), served through the SiSource
// interface of the systeminformation source, so its collectors run on them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SiSource } from '../agent/collectors/si/source.js';
import { FIXTURES } from './fixtures.js';

/** The recordings: linux-x86 (this machine), darwin-docs, win32-source. */
export type SiRecording = 'linux-x86' | 'darwin-docs' | 'win32-source';

export function siRecording(name: SiRecording): Record<string, unknown> & { platform: NodeJS.Platform } {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'si', `${name}.json`), 'utf8')) as Record<string, unknown> & { platform: NodeJS.Platform };
}

/** A SiSource answering every call with the recording (a fresh copy each time); `calls` counts them. */
export function recordedSi(name: SiRecording): SiSource & { calls: Record<string, number> } {
  const rec = siRecording(name);
  const calls: Record<string, number> = {};
  const give = <T>(key: string): T => {
    calls[key] = (calls[key] ?? 0) + 1;
    if (!(key in rec)) throw new Error(`recording ${name} has no ${key}`);
    return structuredClone(rec[key]) as T;
  };
  const later = <T>(key: string) => async (): Promise<T> => give<T>(key);
  return {
    platform: rec.platform,
    calls,
    time: () => give('time'),
    loadavg: () => give('loadavg'),
    osInfo: later('osInfo'),
    cpu: later('cpu'),
    currentLoad: later('currentLoad'),
    mem: later('mem'),
    fsSize: later('fsSize'),
    processes: later('processes'),
    networkInterfaces: later('networkInterfaces'),
    networkStats: later('networkStats'),
    users: later('users'),
    cpuTemperature: later('cpuTemperature'),
  };
}
