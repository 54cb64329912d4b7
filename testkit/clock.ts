// An injected wall clock and monotonic clock for a Pi without RTC (README "Clock without RTC"):
// the wall clock starts at a stale time and jumps to the true time when the test says NTP
// synchronised; the monotonic clock counts from boot and never jumps. Time passes by hand
// (advance) or, with `scale`, as real time sped up (for agents running on real timers).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { output } from './fixtures.js';

/** "Universal time: Mon 2021-01-11 13:30:17 UTC" of a recorded `timedatectl` -> epoch ms. */
export function timedatectlUniversalTime(text: string): number {
  const m = /Universal time: \S+ (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC/.exec(text);
  if (!m) throw new Error('no "Universal time:" line');
  return Date.parse(`${m[1]}T${m[2]}Z`);
}

/** fake-hwclock's saved time ("%Y-%m-%d %H:%M:%S", UTC) -> epoch ms. */
export const fakeHwclockTime = (text: string): number => Date.parse(`${text.trim().replace(' ', 'T')}Z`);

/** The recorded Pi Zero W: before NTP at its image date, after NTP two months later. */
export const RECORDED_JUMP = {
  staleMs: timedatectlUniversalTime(output('timedatectl-unsynced-image-date.txt')),
  syncedMs: timedatectlUniversalTime(output('timedatectl-synced.txt')),
  fakeHwclockMs: fakeHwclockTime(output('fake-hwclock.data')),
};

export interface InjectedClockOptions {
  /** Monotonic time when the clock starts (the boot took this long). */
  readonly bootMonotonicMs: number;
  /** What the wall clock reads at that moment (fake-hwclock's saved time, say). */
  readonly staleWallMs: number;
  /** The true wall time at that moment. */
  readonly trueWallMs: number;
  /** Real time sped up this many times; unset: time passes only through advance(). */
  readonly scale?: number;
}

export class InjectedClock {
  private manualMs = 0;
  private synced = false;
  private stepMs = 0;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(readonly o: InjectedClockOptions) {
    if (o.scale) {
      // Time moves between event-loop turns only, so reads within one synchronous stretch (a
      // sample's wall and monotonic clock) agree, as they do on a real machine at ms precision.
      const start = performance.now();
      this.timer = setInterval(() => (this.manualMs = (performance.now() - start) * o.scale!), 1);
      this.timer.unref();
    }
  }

  /** Stops a scaled clock's timer. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Monotonic ms since boot. */
  readonly monotonic = (): number => Math.floor(this.o.bootMonotonicMs + this.elapsed());

  /** The wall clock: stale until sync(), then true (plus any later step()). */
  readonly now = (): number => {
    const mono = this.monotonic();
    return this.synced ? this.trueTime(mono) + this.stepMs : this.o.staleWallMs + (mono - this.o.bootMonotonicMs);
  };

  /** The true wall time of a monotonic time of this boot. */
  trueTime(monotonicMs: number): number {
    return this.o.trueWallMs + (monotonicMs - this.o.bootMonotonicMs);
  }

  advance(ms: number): void {
    if (this.o.scale) throw new Error('a scaled clock advances with real time');
    this.manualMs += ms;
  }

  /** NTP synchronised: the wall clock jumps to the true time. */
  sync(): void {
    this.synced = true;
  }

  /** An NTP step after the synchronisation (the wall clock moves by ms, the monotonic one does not). */
  step(ms: number): void {
    this.stepMs += ms;
  }

  private elapsed(): number {
    return this.manualMs;
  }
}

/** systemd-timesyncd's files under a root tree: its run directory, and the flag it touches at a sync. */
export const timesyncd = {
  running(root: string): void {
    mkdirSync(path.join(root, 'run/systemd/timesync'), { recursive: true });
  },
  synchronized(root: string): void {
    timesyncd.running(root);
    writeFileSync(path.join(root, 'run/systemd/timesync/synchronized'), '');
  },
  /** A reboot: /run is a tmpfs. */
  reboot(root: string): void {
    rmSync(path.join(root, 'run/systemd/timesync/synchronized'), { force: true });
  },
};
