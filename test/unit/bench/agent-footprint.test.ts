// The agent benchmark runs the bundle with the systemd unit's own Node flags, read from the unit.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unitNodeFlags } from '../../../bench/agent-footprint.js';
import { REPO } from '../../../testkit/repo.js';

describe('unitNodeFlags', () => {
  it("reads the flags of the agent unit's ExecStart, between node and the bundle", () => {
    const unit = readFileSync(path.join(REPO, 'deploy/systemd/machmon-agent.service'), 'utf8');
    expect(unitNodeFlags(unit)).toEqual(['--max-semi-space-size=1', '--jitless', '--no-expose-wasm', '--single-threaded']);
  });

  it('refuses a unit whose ExecStart does not run the bundle', () => {
    expect(() => unitNodeFlags('[Service]\nExecStart=/usr/bin/node /opt/x.js\n')).toThrow(/ExecStart/);
  });
});
