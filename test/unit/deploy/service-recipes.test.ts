// The agent as a service on macOS (launchd) and Windows (WinSW), checked statically: neither OS
// runs here (README "Other systems: macOS and Windows", what is untested). The files are read by
// real parsers of their formats (Python's plistlib for Apple's property lists, ElementTree for
// WinSW's XML), and what each service would start is parsed by the agent's own command line.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../cli/main.js';
import { REPO } from '../../../testkit/repo.js';

const PLIST = path.join(REPO, 'deploy/macos/io.machmon.agent.plist');
const WINSW = path.join(REPO, 'deploy/windows/machmon-agent.xml');

function python(script: string, file: string): unknown {
  const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 could not read ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * Keys of launchd.plist(5) (macOS man page "launchd.plist — System wide and per-user daemon/agent
 * configuration files", section XML PROPERTY LIST KEYS), with their types; Label, and Program or
 * ProgramArguments, are the required ones.
 */
const LAUNCHD_KEYS: Record<string, 'string' | 'array' | 'boolean' | 'integer' | 'dict'> = {
  Label: 'string',
  Disabled: 'boolean',
  UserName: 'string',
  GroupName: 'string',
  Program: 'string',
  ProgramArguments: 'array',
  EnvironmentVariables: 'dict',
  WorkingDirectory: 'string',
  RunAtLoad: 'boolean',
  KeepAlive: 'boolean',
  ThrottleInterval: 'integer',
  ExitTimeOut: 'integer',
  ProcessType: 'string',
  StandardOutPath: 'string',
  StandardErrorPath: 'string',
  Umask: 'integer',
};

describe('launchd plist (macOS)', () => {
  // plistlib.load parses Apple's XML property list format (and refuses what is not one).
  const plist = python(
    `import json, plistlib, sys
d = plistlib.load(open(sys.argv[1], 'rb'))
kind = lambda v: 'boolean' if isinstance(v, bool) else 'integer' if isinstance(v, int) else 'string' if isinstance(v, str) else 'array' if isinstance(v, list) else 'dict' if isinstance(v, dict) else type(v).__name__
print(json.dumps({'values': d, 'types': {k: kind(v) for k, v in d.items()}}))`,
    PLIST,
  ) as { values: Record<string, unknown>; types: Record<string, string> };

  it('is a property list with the keys launchd requires, each of the type launchd.plist(5) gives it', () => {
    expect(plist.values['Label']).toBe('io.machmon.agent');
    // "the expected convention for launchd property list files to be named <Label>.plist"
    expect(path.basename(PLIST)).toBe(`${String(plist.values['Label'])}.plist`);
    expect(Array.isArray(plist.values['ProgramArguments'])).toBe(true);
    for (const [key, type] of Object.entries(plist.types)) expect(LAUNCHD_KEYS[key], `${key} is a launchd.plist(5) key`).toBe(type);
    expect((plist.values['ProgramArguments'] as unknown[]).every((a) => typeof a === 'string')).toBe(true);
  });

  it('keeps the agent running from boot, unprivileged, with its output in a log file', () => {
    expect(plist.values).toMatchObject({ RunAtLoad: true, KeepAlive: true, UserName: 'nobody', ProcessType: 'Background' });
    expect(plist.values['StandardOutPath']).toMatch(/^\/usr\/local\/var\/log\//);
    expect(plist.values['WorkingDirectory']).toMatch(/^\//);
    // ExitTimeOut: the time between SIGTERM and SIGKILL; the agent flushes its outbox on SIGTERM.
    expect(plist.values['ExitTimeOut']).toBeGreaterThanOrEqual(10);
  });

  it('starts `node <npm global>/machmon/bin/machmon.js agent --config <file>`, which the agent parses', () => {
    const [node, script, ...args] = plist.values['ProgramArguments'] as string[];
    expect(node).toBe('/usr/local/bin/node');
    expect(script).toBe('/usr/local/lib/node_modules/machmon/bin/machmon.js');
    const parsed = parseArgs(args);
    expect(parsed.error).toBeUndefined();
    expect(parsed).toMatchObject({ command: 'agent', config: '/usr/local/etc/machmon/agent.json' });
  });
});

/** Elements of WinSW's XML configuration (winsw/winsw docs/xml-config-file.md): id and executable are required. */
const WINSW_ELEMENTS = new Set(['id', 'name', 'description', 'executable', 'arguments', 'startmode', 'delayedAutoStart', 'depend', 'logpath', 'log', 'onfailure', 'resetfailure', 'stoptimeout', 'env', 'workingdirectory', 'priority', 'serviceaccount']);

/** Splits a Windows command line as CommandLineToArgvW does for these simple cases: blanks separate, double quotes group. */
function windowsArgv(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe('WinSW service (Windows)', () => {
  const xml = python(
    `import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
el = lambda e: {'tag': e.tag, 'text': (e.text or '').strip(), 'attrib': e.attrib, 'children': [el(c) for c in e]}
print(json.dumps(el(root)))`,
    WINSW,
  ) as { tag: string; children: { tag: string; text: string; attrib: Record<string, string>; children: { tag: string; text: string }[] }[] };
  const child = (tag: string) => xml.children.find((c) => c.tag === tag);

  it('is a <service> with the required id and executable, and only elements WinSW documents', () => {
    expect(xml.tag).toBe('service');
    // "it should consist entirely out of alpha-numeric characters"
    expect(child('id')?.text).toMatch(/^[A-Za-z0-9]+$/);
    expect(child('executable')?.text).toBe('%ProgramFiles%\\nodejs\\node.exe');
    expect(xml.children.map((c) => c.tag).filter((t) => !WINSW_ELEMENTS.has(t))).toEqual([]);
  });

  it('restarts the agent when it fails, rolls its log, gives it time to stop, runs as LocalService', () => {
    expect(child('startmode')?.text).toMatch(/^(Automatic|Manual)$/);
    const failure = xml.children.filter((c) => c.tag === 'onfailure');
    expect(failure.length).toBeGreaterThan(0);
    for (const f of failure) {
      expect(['restart', 'reboot', 'none']).toContain(f.attrib['action']);
      expect(f.attrib['delay'] ?? '0').toMatch(/^\d+\s*(sec|secs|min|mins|hour|hours|day|days)?$/);
    }
    expect(child('log')?.attrib['mode']).toBe('roll-by-size');
    expect(child('log')?.children.map((c) => c.tag).sort()).toEqual(['keepFiles', 'sizeThreshold']);
    expect(child('stoptimeout')?.text).toMatch(/^\d+\s*(sec|secs|min|mins)$/);
    expect(child('serviceaccount')?.children).toEqual([expect.objectContaining({ tag: 'username', text: 'NT AUTHORITY\\LocalService' })]);
    expect(['idle', 'belownormal', 'normal', 'abovenormal', 'high', 'realtime']).toContain(child('priority')?.text.toLowerCase());
  });

  it('starts `node <prefix>\\node_modules\\machmon\\bin\\machmon.js agent --config <file>`, which the agent parses', () => {
    const [script, ...args] = windowsArgv(child('arguments')!.text);
    expect(script).toBe('%ProgramFiles%\\machmon\\node_modules\\machmon\\bin\\machmon.js');
    const parsed = parseArgs(args);
    expect(parsed.error).toBeUndefined();
    expect(parsed).toMatchObject({ command: 'agent', config: '%ProgramData%\\machmon\\agent.json' });
  });
});
