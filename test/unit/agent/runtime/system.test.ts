import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePaths } from '../../../../agent/read/paths.js';
import { detectSystem, parseOsRelease, systemName } from '../../../../agent/runtime/system.js';

const RASPBIAN_BULLSEYE = `PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"
NAME="Raspbian GNU/Linux"
VERSION_ID="11"
VERSION="11 (bullseye)"
VERSION_CODENAME=bullseye
ID=raspbian
ID_LIKE=debian
HOME_URL="http://www.raspbian.org/"
`;

const DEBIAN_BOOKWORM = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
`;

describe('system type', () => {
  it('parses os-release, quoted or not', () => {
    expect(parseOsRelease(RASPBIAN_BULLSEYE)).toMatchObject({ NAME: 'Raspbian GNU/Linux', ID: 'raspbian', VERSION_CODENAME: 'bullseye' });
    expect(parseOsRelease("# comment\nNAME='Arch Linux'\nX=\"a \\\"b\\\"\"\n")).toEqual({ NAME: 'Arch Linux', X: 'a "b"' });
  });

  it.each([
    [RASPBIAN_BULLSEYE, false, 'Raspbian'],
    [DEBIAN_BOOKWORM, false, 'Debian'],
    [DEBIAN_BOOKWORM, true, 'Raspbian'],
    ['NAME="Ubuntu"\nID=ubuntu\n', false, 'Ubuntu'],
    ['NAME="Fedora Linux"\n', false, 'Fedora'],
    ['ID=alpine\n', false, 'Alpine'],
    ['', false, 'Linux'],
  ])('names %j (rpi %s) %s', (text, rpi, expected) => {
    expect(systemName(parseOsRelease(text), rpi)).toBe(expected);
  });

  it('reads <rootDir>/etc/os-release and knows Raspberry Pi OS by /etc/rpi-issue', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'machmon-root-'));
    try {
      expect(detectSystem(makePaths(root))).toBe('Linux');
      fs.mkdirSync(path.join(root, 'etc'));
      fs.writeFileSync(path.join(root, 'etc/os-release'), DEBIAN_BOOKWORM);
      expect(detectSystem(makePaths(root))).toBe('Debian');
      fs.writeFileSync(path.join(root, 'etc/rpi-issue'), 'Raspberry Pi reference 2023-12-05\n');
      expect(detectSystem(makePaths(root))).toBe('Raspbian');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
