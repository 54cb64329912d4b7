// systemAdditionalInfo: boot time, users logged in and load averages (uptime, who).
// Cost: /proc/loadavg every cycle, /run/utmp (a few hundred bytes) every cycle, /proc/stat's
// btime once every ten minutes — no child process (uptime/who would spawn; so does
// systeminformation's users(), which runs who and w).
// Users: the USER_PROCESS records of /run/utmp, as who -q and uptime count them. Systems
// that no longer keep utmp (systemd-logind only) are counted from /run/systemd/sessions,
// sessions of class "user" only. Neither present: the value stays unset.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { formatLocalDateTime, parseLoadavg } from '../parse/loadavg.js';
import { errText, SensorError } from '../../common/errors.js';
import { BOOT_TIME_TTL_MS, readBootTimeMs } from './shared/boot-time.js';
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import { countUtmpUsers, isUserSession } from '../parse/utmp.js';
import type { Paths } from '../read/paths.js';
import { readKernelFile } from '../read/kernel-files.js';
import type { CollectorEntry, Reading } from './types.js';


async function countUsers(paths: Paths): Promise<number> {
  try {
    // /run is a tmpfs: read synchronously, like the procfs files (see readKernelFile).
    return countUtmpUsers(readFileSync(paths.root('run', 'utmp')));
  } catch (utmpErr) {
    if ((utmpErr as NodeJS.ErrnoException).code !== 'ENOENT') throw utmpErr;
    const dir = paths.root('run', 'systemd', 'sessions');
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      throw new SensorError(`neither ${paths.root('run', 'utmp')} nor ${dir} exists (${errText(err)})`, { cause: err });
    }
    let n = 0;
    for (const name of names.filter((f) => !f.includes('.'))) {
      try {
        if (isUserSession(await readFile(`${dir}/${name}`, 'utf8'))) n++;
      } catch {
        // the session ended between readdir and read
      }
    }
    return n;
  }
}

export const collector: CollectorEntry<'systemAdditionalInfo'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    const boot = cachedFor(BOOT_TIME_TTL_MS, () => readBootTimeMs(ctx.paths));
    return {
      name: 'systemAdditionalInfo',
      async collect() {
        const reading: Reading<'systemAdditionalInfo'> = {};
        const [bootMs, users, load] = await Promise.allSettled([boot.get(), countUsers(ctx.paths), readKernelFile(ctx.paths.proc('loadavg')).then(parseLoadavg)]);
        if (bootMs.status === 'fulfilled') {
          reading.bootTime = formatLocalDateTime(new Date(bootMs.value));
          once.ok('btime');
        } else once.warn('btime', bootMs.reason, 'cannot read the boot time from /proc/stat; systemRunningTime stays unset');
        if (users.status === 'fulfilled') {
          reading.usersLoggedIn = users.value;
          once.ok('users');
        } else once.warn('users', users.reason, 'cannot count users logged in; usersLoggedInNumber stays unset');
        if (load.status === 'fulfilled') {
          Object.assign(reading, load.value);
          once.ok('loadavg');
        } else once.warn('loadavg', load.reason, 'cannot read /proc/loadavg; load averages stay unset');
        if (Object.keys(reading).length === 0) throw new SensorError('systemAdditionalInfo: neither boot time, users nor load could be read');
        return reading;
      },
    };
  },
};
