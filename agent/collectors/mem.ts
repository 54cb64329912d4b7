// mem: the figures of `free -k -t`, from /proc/meminfo.
// Cost: one read of /proc/meminfo (free would spawn). systeminformation's mem() reads the
// same file but has no Shmem and computes "used" its own way, so the file is read here.
// Which "used": see memFromMeminfo (procps-ng 3.3.x: total - free - buffers - cache).
import { readKernelFile } from '../read/kernel-files.js';
import { SensorError } from '../../common/errors.js';
import { memFromMeminfo, parseMeminfo } from '../parse/meminfo.js';
import { logOnce } from './shared/log-once.js';
import type { CollectorEntry } from './types.js';

export const collector: CollectorEntry<'mem'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    return {
      name: 'mem',
      async collect() {
        const file = ctx.paths.proc('meminfo');
        let text: string;
        try {
          text = await readKernelFile(file);
        } catch (err) {
          throw new SensorError(`mem: cannot read ${file}`, { cause: err });
        }
        const { reading, missing } = memFromMeminfo(parseMeminfo(text));
        if (Object.keys(reading).length === 0) throw new SensorError(`mem: no known line in ${file}`);
        for (const key of missing) once.warn(`meminfo/${key}`, undefined, `${file} has no ${key} line; the figures computed from it stay unset`);
        return reading;
      },
    };
  },
};
