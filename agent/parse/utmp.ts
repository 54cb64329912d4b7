// Users logged in, as `who -q` / `uptime` count them, without running either.

/** struct utmp on Linux (glibc, x86_64/aarch64/armhf alike): 384 bytes per record. */
export const UTMP_RECORD_SIZE = 384;
const USER_PROCESS = 7;
/** Offset of ut_user[32] (after ut_type 4, ut_pid 4, ut_line 32, ut_id 4 bytes). */
const UT_USER_OFFSET = 44;

/** Number of USER_PROCESS records with a user name in a utmp file (/run/utmp). */
export function countUtmpUsers(buf: Uint8Array): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let n = 0;
  for (let off = 0; off + UTMP_RECORD_SIZE <= buf.byteLength; off += UTMP_RECORD_SIZE) {
    if (view.getInt32(off, true) !== USER_PROCESS) continue;
    if (buf[off + UT_USER_OFFSET] !== 0) n++;
  }
  return n;
}

/**
 * Whether a systemd-logind session file (/run/systemd/sessions/<id>: KEY=value lines)
 * describes a user's login. Sessions of other classes (greeter, lock-screen, background,
 * manager) are not people logged in.
 */
export function isUserSession(text: string): boolean {
  const cls = /^CLASS=(.*)$/m.exec(text)?.[1]?.trim();
  return cls === undefined || cls === 'user';
}
