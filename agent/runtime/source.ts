// agent.source: which collectors read the machine. procfs (agent/collectors/*.ts) reads /proc
// and /sys directly and is the Pi's; systeminformation (agent/collectors/si/) is for machines
// without procfs (macOS, Windows, the BSDs). The systeminformation code and package are loaded
// with import() only when selected, so the procfs agent never pays for them.
import type { AgentConfig } from '../config.js';
import type { Logger } from '../../common/log.js';
import { COLLECTORS } from '../collectors/index.js';
import type { Paths } from '../read/paths.js';
import type { CollectorTable } from './runner.js';
import { detectSystem } from './system.js';

export type SourceName = 'procfs' | 'systeminformation';

/** auto: procfs on Linux (and Android), systeminformation everywhere else. */
export function resolveSource(setting: AgentConfig['source'], platform: NodeJS.Platform = process.platform): SourceName {
  if (setting !== 'auto') return setting;
  return platform === 'linux' || platform === 'android' ? 'procfs' : 'systeminformation';
}

export interface LoadedSource {
  readonly name: SourceName;
  readonly table: CollectorTable;
  /** The header's system name (agent.system wins). */
  readonly system: string;
}

export interface LoadSourceOptions {
  readonly platform?: NodeJS.Platform;
  /** For tests: the SiSource to use instead of the real package. */
  readonly si?: import('../collectors/si/source.js').SiSource;
}

export async function loadSource(config: AgentConfig, paths: Paths, log: Logger, opts: LoadSourceOptions = {}): Promise<LoadedSource> {
  const platform = opts.platform ?? opts.si?.platform ?? process.platform;
  const name = resolveSource(config.source, platform);
  const linux = platform === 'linux' || platform === 'android';
  if (name === 'procfs') {
    if (!linux) log.warn({ platform }, 'agent.source is procfs but this is not Linux: there is no /proc to read; use auto or systeminformation');
    return { name, table: COLLECTORS, system: config.system ?? detectSystem(paths) };
  }
  const [{ loadSi }, { siCollectors, SI_MISSING_GROUPS }, { systemFromOsInfo }] = await Promise.all([import('../collectors/si/source.js'), import('../collectors/si/index.js'), import('../collectors/si/map.js')]);
  const si = opts.si ?? (await loadSi());
  const table = siCollectors({ si, slowIntervalMs: config.systeminformation.slowIntervalMs });
  log.info({ source: name, platform, notProvided: SI_MISSING_GROUPS }, 'collectors read systeminformation; these groups are not provided by it');
  let system = config.system;
  if (system === undefined) {
    if (linux) system = detectSystem(paths);
    else {
      try {
        system = systemFromOsInfo(await si.osInfo(), platform);
      } catch (err) {
        log.warn({ err }, 'systeminformation osInfo() failed; the system is named after the platform');
        system = platform;
      }
    }
  }
  return { name, table, system };
}
