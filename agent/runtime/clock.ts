// The agent's view of the wall clock on a machine without a real-time clock (README "Clock
// without RTC"). A Pi boots at fake-hwclock's saved time (or 1970) and steps to the right time
// when NTP first synchronises, possibly after hours without network.
//
// Whether the clock is synchronised is read without a child process: systemd-timesyncd (the
// time client of Raspberry Pi OS bookworm and of a default Debian 12) touches
// /run/systemd/timesync/synchronized at every successful synchronisation (systemd >= 239,
// systemd-timesyncd(8)); /run is a tmpfs, so the file of an earlier boot is gone. The kernel's
// own flag (adjtimex STA_UNSYNC, what `timedatectl` shows) needs a system call Node does not
// offer, and chronyd keeps its state behind a Unix datagram socket Node cannot speak: with
// chrony or ntpd (no timesyncd run directory) the agent has no signal and trusts the clock
// (TIME_STATUS_UNCHECKED), as it does with agent.clock.sync "none" (a board with a set RTC).
//
// Before the synchronisation, readings are stamped with the boot id and CLOCK_MONOTONIC
// (process.hrtime: milliseconds since boot, never stepped) and held in the outbox. At the
// synchronisation the boot's offset wall - monotonic is measured once, persisted in
// <dataDir>/clock.json (so an agent restarted, or the readings of a boot that synchronised
// and then rebooted, still get it) and every held reading of that boot is sent with
// sample time = monotonic + offset. A held reading of a boot whose offset was never measured
// (the Pi rebooted before any sync) goes out marked TIME_STATUS_UNKNOWN, which the ingestor
// refuses (counted, never stored at a wrong time). seq, not time, is the order throughout.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../common/log.js';
import { TimeStatus } from '../../proto/gen/machmon.js';
import { writeFileAtomic } from '../outbox/record.js';
import type { Paths } from '../read/paths.js';

export type ClockSync = 'auto' | 'timesyncd' | 'none';

/** CLOCK_MONOTONIC in milliseconds (libuv's hrtime on Linux): time since boot, never stepped. */
export const monotonicNowMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

/** Both clocks read at the start of a sample. */
export interface SampleStamp {
  readonly wallMs: number;
  readonly monotonicMs: number;
}

/** The time fields of a reading's header. */
export interface TimeFields {
  readonly sampleTimeMs: number;
  readonly timeStatus: TimeStatus;
  readonly bootId: string;
  readonly monotonicMs: number;
}

interface BootOffset {
  readonly bootId: string;
  /** wall - monotonic, measured at the first synchronisation seen in that boot. */
  readonly offsetMs: number;
  /** Monotonic time of that measurement (a later boot with the same id starts below it). */
  readonly atMonotonicMs: number;
}

export interface ClockOptions {
  readonly sync: ClockSync;
  readonly paths: Paths;
  /** Where clock.json (the offsets of recent boots) is kept. */
  readonly dataDir: string;
  readonly log: Logger;
  readonly now?: () => number;
  readonly monotonic?: () => number;
}

const STATE_FILE = 'clock.json';
/** Offsets of this many boots are kept: far more than an outbox holds readings of. */
const MAX_BOOTS = 32;
/** The sync flag file is looked at no more often than this. */
const CHECK_EVERY_MS = 1000;
/** After this long without synchronisation the agent says once that it is holding readings. */
const WARN_AFTER_MS = 10 * 60_000;

const BOOT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The boot id from /proc/sys/kernel/random/boot_id's text, or undefined when it is not a UUID. */
export function parseBootId(text: string): string | undefined {
  const id = text.trim();
  return BOOT_ID_RE.test(id) ? id : undefined;
}

export class AgentClock {
  readonly bootId: string;
  /** undefined: no synchronisation signal on this machine (readings are UNCHECKED). */
  private readonly flagFile: string | undefined;
  private offsetMs: number | undefined;
  /** Monotonic time at which the offset was measured. */
  private syncedAtMs = 0;
  private lastCheck = -Infinity;
  private boots: BootOffset[];
  private warned = false;
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly opts: ClockOptions) {
    this.now = opts.now ?? Date.now;
    this.monotonic = opts.monotonic ?? monotonicNowMs;
    this.startedAt = this.monotonic();
    this.bootId = this.readBootId();
    const runDir = opts.paths.root('run', 'systemd', 'timesync');
    const timesyncd = opts.sync === 'timesyncd' || (opts.sync === 'auto' && fs.existsSync(runDir));
    this.flagFile = timesyncd ? path.join(runDir, 'synchronized') : undefined;
    if (!timesyncd) opts.log.info({ sync: opts.sync }, 'no clock synchronisation signal (systemd-timesyncd not running): the system clock is trusted as it is');
    this.boots = this.loadBoots();
    const mine = this.boots.find((b) => b.bootId === this.bootId);
    if (mine && this.bootId && mine.atMonotonicMs <= this.startedAt) {
      this.offsetMs = mine.offsetMs;
      this.syncedAtMs = mine.atMonotonicMs;
    } else if (mine) {
      // The same boot id with a monotonic clock that went back: a kernel that keeps boot_id
      // across reboots (seen on Pi Zero/1 kernels). That offset belongs to another boot.
      opts.log.warn({ bootId: this.bootId }, 'boot id unchanged across a reboot; readings of the earlier boot get no corrected time');
      this.boots = this.boots.filter((b) => b !== mine);
    }
  }

  /** Called once when the clock becomes synchronised. */
  onSync(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** True once the clock is known to be synchronised in this boot (or when there is no signal). */
  get trusted(): boolean {
    return !this.flagFile || this.synchronized();
  }

  /** The time fields of a sample taken at `at`. */
  stamp(at: SampleStamp): TimeFields {
    if (!this.flagFile) return { sampleTimeMs: at.wallMs, timeStatus: TimeStatus.TIME_STATUS_UNCHECKED, bootId: this.bootId, monotonicMs: at.monotonicMs };
    const base = { bootId: this.bootId, monotonicMs: at.monotonicMs };
    if (!this.synchronized()) return { ...base, sampleTimeMs: at.wallMs, timeStatus: TimeStatus.TIME_STATUS_UNSYNCHRONIZED };
    // Sampled before the synchronisation was seen (the collector ran across it): the wall
    // time read then may be the old one, the monotonic time is right.
    if (at.monotonicMs < this.syncedAtMs) return { ...base, sampleTimeMs: Math.round(at.monotonicMs + this.offsetMs!), timeStatus: TimeStatus.TIME_STATUS_CORRECTED };
    return { ...base, sampleTimeMs: at.wallMs, timeStatus: TimeStatus.TIME_STATUS_SYNCHRONIZED };
  }

  /**
   * The time to send for a reading stamped UNSYNCHRONIZED: corrected from its boot's offset,
   * UNKNOWN when that boot's offset was never measured, undefined (hold it) while its boot is
   * this one and the clock is still unsynchronised.
   */
  resolve(t: Pick<TimeFields, 'sampleTimeMs' | 'bootId' | 'monotonicMs'>): Pick<TimeFields, 'sampleTimeMs' | 'timeStatus'> | undefined {
    const thisBoot = t.bootId !== '' && t.bootId === this.bootId && t.monotonicMs <= this.monotonic();
    let offset: number | undefined;
    if (thisBoot) {
      if (!this.synchronized()) return undefined;
      offset = this.offsetMs;
    } else if (t.bootId !== this.bootId) {
      offset = this.boots.find((b) => b.bootId === t.bootId)?.offsetMs;
    }
    if (offset === undefined) return { sampleTimeMs: t.sampleTimeMs, timeStatus: TimeStatus.TIME_STATUS_UNKNOWN };
    return { sampleTimeMs: Math.round(t.monotonicMs + offset), timeStatus: TimeStatus.TIME_STATUS_CORRECTED };
  }

  /** Latched: once synchronised in this boot, always (timesyncd never removes the file either). */
  private synchronized(): boolean {
    if (this.offsetMs !== undefined) return true;
    const mono = this.monotonic();
    if (!this.flagFile) {
      // No signal: the clock is trusted, so a held reading of an earlier run with a signal gets this offset.
      this.offsetMs = this.now() - mono;
      this.syncedAtMs = mono;
      return true;
    }
    if (mono - this.lastCheck < CHECK_EVERY_MS) return false;
    this.lastCheck = mono;
    if (!fs.existsSync(this.flagFile)) {
      if (!this.warned && mono - this.startedAt >= WARN_AFTER_MS) {
        this.warned = true;
        this.opts.log.warn({ flagFile: this.flagFile, heldForMs: mono - this.startedAt }, 'clock still not synchronised: readings are held until it is (agent.clock.sync "none" trusts the clock)');
      }
      return false;
    }
    const wall = this.now();
    this.offsetMs = wall - mono;
    this.syncedAtMs = mono;
    this.boots = [...this.boots.filter((b) => b.bootId !== this.bootId), { bootId: this.bootId, offsetMs: this.offsetMs, atMonotonicMs: mono }].slice(-MAX_BOOTS);
    this.saveBoots();
    this.opts.log.info({ bootId: this.bootId, offsetMs: this.offsetMs, afterMs: mono - this.startedAt, now: new Date(wall).toISOString() }, 'clock synchronised; held readings get their true time');
    for (const fn of this.listeners) fn();
    return true;
  }

  private readBootId(): string {
    const file = this.opts.paths.proc('sys', 'kernel', 'random', 'boot_id');
    try {
      const id = parseBootId(fs.readFileSync(file, 'utf8'));
      if (id) return id;
      this.opts.log.warn({ file }, 'boot id is not a UUID; readings taken before the clock is synchronised cannot be told apart across reboots');
    } catch (err) {
      this.opts.log.warn({ err, file }, 'boot id unreadable; readings taken before the clock is synchronised cannot be told apart across reboots');
    }
    return '';
  }

  private loadBoots(): BootOffset[] {
    const file = path.join(this.opts.dataDir, STATE_FILE);
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { boots?: unknown };
      if (!Array.isArray(parsed.boots)) throw new Error('no "boots" list');
      return parsed.boots.filter(
        (b): b is BootOffset => typeof b === 'object' && b !== null && typeof b.bootId === 'string' && b.bootId !== '' && Number.isFinite(b.offsetMs) && Number.isFinite(b.atMonotonicMs),
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.log.warn({ err, file }, 'clock state unreadable; offsets of earlier boots forgotten');
      return [];
    }
  }

  private saveBoots(): void {
    if (!this.bootId) return;
    const file = path.join(this.opts.dataDir, STATE_FILE);
    try {
      fs.mkdirSync(this.opts.dataDir, { recursive: true });
      writeFileAtomic(file, JSON.stringify({ boots: this.boots }) + '\n');
    } catch (err) {
      this.opts.log.warn({ err, file }, 'clock state not written; held readings of this boot lose their corrected time if the agent restarts before sending them');
    }
  }
}
