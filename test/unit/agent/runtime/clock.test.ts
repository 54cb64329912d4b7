// The agent's clock on a Pi without RTC: a recorded Pi Zero tree (its boot_id), timesyncd's
// flag file, and an injected clock replaying the recorded jump of a Pi Zero W at its first NTP sync.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentClock, parseBootId, type ClockSync } from '../../../../agent/runtime/clock.js';
import { makePaths } from '../../../../agent/read/paths.js';
import { TimeStatus } from '../../../../proto/gen/machmon.js';
import { InjectedClock, RECORDED_JUMP, timesyncd } from '../../../../testkit/clock.js';
import { hostFile, tempTree } from '../../../../testkit/fixtures.js';
import { captureLog } from '../../../../testkit/log.js';

const BOOT_ID = hostFile('pizero/proc/sys/kernel/random/boot_id').trim();
const OTHER_BOOT = 'f00dd092-21cf-4330-a670-037b9c7bbc65';
const TEN_MIN = 10 * 60_000;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function setup(o: { sync?: ClockSync; timesyncd?: boolean; clock?: InjectedClock; root?: string } = {}) {
  const tree = o.root ? { root: o.root, cleanup: () => {} } : tempTree('pizero');
  cleanups.push(tree.cleanup);
  if (o.timesyncd ?? true) timesyncd.running(tree.root);
  const clock = o.clock ?? new InjectedClock({ bootMonotonicMs: 8_000, staleWallMs: RECORDED_JUMP.staleMs, trueWallMs: RECORDED_JUMP.syncedMs - TEN_MIN });
  const captured = captureLog('debug');
  const make = () => new AgentClock({ sync: o.sync ?? 'auto', paths: makePaths(tree.root), dataDir: path.join(tree.root, 'data'), log: captured.log, now: clock.now, monotonic: clock.monotonic });
  return { root: tree.root, clock, captured, make };
}

const at = (c: InjectedClock) => ({ wallMs: c.now(), monotonicMs: c.monotonic() });

describe('parseBootId', () => {
  it('reads the recorded boot_id and refuses what is not a UUID', () => {
    expect(parseBootId(hostFile('pizero/proc/sys/kernel/random/boot_id'))).toBe('afddd092-21cf-4330-a670-037b9c7bbc65');
    expect(parseBootId('')).toBeUndefined();
    expect(parseBootId('afddd092-21cf-4330-a670\n')).toBeUndefined();
  });
});

describe('AgentClock', () => {
  it('the recorded jump is months', () => {
    expect(RECORDED_JUMP.syncedMs - RECORDED_JUMP.staleMs).toBeGreaterThan(60 * 24 * 3600_000);
  });

  it('boot at a stale time, sync 10 minutes later with a jump of months: every reading gets its true time', () => {
    const s = setup();
    const clock = s.make();
    let syncs = 0;
    clock.onSync(() => syncs++);
    expect(clock.bootId).toBe(BOOT_ID);
    expect(clock.trusted).toBe(false);
    const stamps = [];
    for (let k = 0; k < 60; k++) {
      stamps.push(clock.stamp(at(s.clock)));
      s.clock.advance(10_000);
    }
    expect(stamps.every((t) => t.timeStatus === TimeStatus.TIME_STATUS_UNSYNCHRONIZED && t.bootId === BOOT_ID)).toBe(true);
    expect(stamps[0]!.sampleTimeMs).toBe(RECORDED_JUMP.staleMs);
    // Held: the clock is not synchronised yet.
    expect(clock.resolve(stamps[0]!)).toBeUndefined();
    s.clock.sync();
    timesyncd.synchronized(s.root);
    s.clock.advance(1_000);
    const after = clock.stamp(at(s.clock));
    expect(after).toMatchObject({ timeStatus: TimeStatus.TIME_STATUS_SYNCHRONIZED, sampleTimeMs: s.clock.trueTime(after.monotonicMs) });
    expect(syncs).toBe(1);
    for (const t of stamps) expect(clock.resolve(t)).toEqual({ sampleTimeMs: s.clock.trueTime(t.monotonicMs), timeStatus: TimeStatus.TIME_STATUS_CORRECTED });
    expect(s.captured.messages('clock synchronised; held readings get their true time')).toHaveLength(1);
  });

  it('a sample started before the sync and stamped after it takes its time from the monotonic clock', () => {
    const s = setup();
    const clock = s.make();
    clock.stamp(at(s.clock));
    const started = at(s.clock); // the collector starts (stale wall clock) ...
    s.clock.advance(2_000);
    s.clock.sync();
    timesyncd.synchronized(s.root);
    expect(clock.stamp(started)).toMatchObject({ timeStatus: TimeStatus.TIME_STATUS_CORRECTED, sampleTimeMs: s.clock.trueTime(started.monotonicMs) });
  });

  it('looks at the flag file at most once a second', () => {
    const s = setup();
    const clock = s.make();
    expect(clock.stamp(at(s.clock)).timeStatus).toBe(TimeStatus.TIME_STATUS_UNSYNCHRONIZED);
    timesyncd.synchronized(s.root);
    s.clock.advance(500);
    expect(clock.stamp(at(s.clock)).timeStatus).toBe(TimeStatus.TIME_STATUS_UNSYNCHRONIZED);
    s.clock.advance(600);
    expect(clock.stamp(at(s.clock)).timeStatus).toBe(TimeStatus.TIME_STATUS_SYNCHRONIZED);
  });

  it('trusts the clock where timesyncd does not run (auto) or when told (none), and says so once', () => {
    for (const o of [{ sync: 'auto' as const, timesyncd: false }, { sync: 'none' as const, timesyncd: true }]) {
      const s = setup(o);
      const clock = s.make();
      expect(clock.trusted).toBe(true);
      expect(clock.stamp(at(s.clock))).toMatchObject({ timeStatus: TimeStatus.TIME_STATUS_UNCHECKED, sampleTimeMs: RECORDED_JUMP.staleMs });
      expect(s.captured.lines.filter((l) => /no clock synchronisation signal/.test(l.msg))).toHaveLength(1);
    }
  });

  it('sync "timesyncd" waits even when the run directory is missing', () => {
    const s = setup({ sync: 'timesyncd', timesyncd: false });
    expect(s.make().trusted).toBe(false);
  });

  it('an agent restarted in the same boot after the sync keeps the measured offset', () => {
    const s = setup();
    const first = s.make();
    const held = first.stamp(at(s.clock));
    s.clock.advance(TEN_MIN);
    s.clock.sync();
    timesyncd.synchronized(s.root);
    expect(first.trusted).toBe(true);
    // NTP later slews the wall clock by a few ms; the held readings of this boot keep one offset.
    s.clock.step(7);
    s.clock.advance(60_000);
    const second = s.make();
    expect(second.trusted).toBe(true);
    expect(second.resolve(held)).toEqual({ sampleTimeMs: s.clock.trueTime(held.monotonicMs), timeStatus: TimeStatus.TIME_STATUS_CORRECTED });
  });

  it('readings from before a reboot keep the times of their own boot, or are marked unknown when it never synced', () => {
    const s = setup();
    const boot1 = s.make();
    const syncedBoot = boot1.stamp(at(s.clock));
    s.clock.advance(TEN_MIN);
    s.clock.sync();
    timesyncd.synchronized(s.root);
    expect(boot1.trusted).toBe(true);
    // A reading of a boot that ended before any sync (the agent's outbox kept it).
    const lostBoot = { sampleTimeMs: RECORDED_JUMP.fakeHwclockMs, bootId: OTHER_BOOT, monotonicMs: 30_000 };

    // Reboot: a new boot id, /run emptied, the monotonic clock from zero, the wall clock stale again.
    fs.writeFileSync(path.join(s.root, 'proc/sys/kernel/random/boot_id'), `${OTHER_BOOT.replace('f00d', 'beef')}\n`);
    timesyncd.reboot(s.root);
    const c2 = new InjectedClock({ bootMonotonicMs: 5_000, staleWallMs: RECORDED_JUMP.staleMs, trueWallMs: RECORDED_JUMP.syncedMs + 3600_000 });
    const s2 = setup({ root: s.root, clock: c2 });
    const boot2 = s2.make();
    expect(boot2.trusted).toBe(false);
    expect(boot2.resolve(syncedBoot)).toEqual({ sampleTimeMs: s.clock.trueTime(syncedBoot.monotonicMs), timeStatus: TimeStatus.TIME_STATUS_CORRECTED });
    expect(boot2.resolve(lostBoot)).toEqual({ sampleTimeMs: RECORDED_JUMP.fakeHwclockMs, timeStatus: TimeStatus.TIME_STATUS_UNKNOWN });
  });

  it('a kernel that keeps boot_id across reboots: the old offset is dropped, readings from before the reboot are unknown', () => {
    const s = setup();
    const boot1 = s.make();
    s.clock.advance(TEN_MIN);
    const held = boot1.stamp(at(s.clock));
    s.clock.sync();
    timesyncd.synchronized(s.root);
    s.clock.advance(1_000);
    expect(boot1.trusted).toBe(true);
    timesyncd.reboot(s.root);
    // Same boot id (raspberrypi/linux#4517), monotonic clock back near zero.
    const s2 = setup({ root: s.root, clock: new InjectedClock({ bootMonotonicMs: 4_000, staleWallMs: RECORDED_JUMP.staleMs, trueWallMs: RECORDED_JUMP.syncedMs + 3600_000 }) });
    const boot2 = s2.make();
    expect(boot2.trusted).toBe(false);
    expect(s2.captured.lines.some((l) => /boot id unchanged across a reboot/.test(l.msg))).toBe(true);
    expect(boot2.resolve(held)).toEqual({ sampleTimeMs: held.sampleTimeMs, timeStatus: TimeStatus.TIME_STATUS_UNKNOWN });
  });

  it('a missing or malformed boot_id is logged once, and such readings are never corrected across runs', () => {
    const s = setup();
    fs.writeFileSync(path.join(s.root, 'proc/sys/kernel/random/boot_id'), 'garbage\n');
    const clock = s.make();
    expect(clock.bootId).toBe('');
    expect(s.captured.lines.filter((l) => /boot id is not a UUID/.test(l.msg))).toHaveLength(1);
    s.clock.sync();
    timesyncd.synchronized(s.root);
    expect(clock.resolve({ sampleTimeMs: 1, bootId: '', monotonicMs: 9_000 })).toMatchObject({ timeStatus: TimeStatus.TIME_STATUS_UNKNOWN });
  });

  it('an unreadable clock.json is reported, not fatal', () => {
    const s = setup();
    fs.mkdirSync(path.join(s.root, 'data'), { recursive: true });
    fs.writeFileSync(path.join(s.root, 'data/clock.json'), '{"boots": 7}');
    expect(s.make().bootId).toBe(BOOT_ID);
    expect(s.captured.lines.some((l) => /clock state unreadable/.test(l.msg))).toBe(true);
  });

  it('warns once when the clock stays unsynchronised for 10 minutes', () => {
    const s = setup();
    const clock = s.make();
    for (let k = 0; k < 100; k++) {
      clock.stamp(at(s.clock));
      s.clock.advance(10_000);
    }
    expect(s.captured.lines.filter((l) => /clock still not synchronised/.test(l.msg))).toHaveLength(1);
  });
});
