// Changing the fleet without a restart (README "Security model"): on SIGHUP (systemctl reload
// machmon-broker) the broker reads its config again, validated exactly as at start. The keys
// that decide who logs in take effect at once, for new logins and for the clients already
// connected (those no longer admitted are dropped, logged and counted); a config that does
// not validate is refused with the message it would get at start, and the running one stays.
// Every other broker key (ports, TLS, limits, storage) needs a restart: a change to one is
// named in the log and not applied.
import type { BrokerConfig } from './config.js';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { LoginConfig } from './hooks/authenticate.js';
import type { Broker } from './server.js';

/** The broker keys a reload applies. */
export const RELOADED_KEYS = ['secretPassword', 'readerPassword', 'auth', 'allowedHosts', 'readers', 'revokedHosts', 'homeAssistant'] as const satisfies readonly (keyof LoginConfig)[];

export type ReloadOutcome = { applied: true; dropped: number; needRestart: string[] } | { applied: false; message: string };

export interface Reloader {
  /** Reads and applies the config now (what SIGHUP does). */
  reload(): ReloadOutcome;
  /** Stops listening for SIGHUP. */
  close(): void;
}

/**
 * Re-reads the config through `load` (which throws ConfigError, as at start) on every SIGHUP.
 * `started` is the config the broker was started with: keys a reload cannot apply are compared with it.
 */
export function reloadOnSignal(broker: Broker, started: BrokerConfig, load: () => BrokerConfig, rootLog: Logger, report: (line: string) => void = console.error): Reloader {
  const log = rootLog.child({ component: 'reload' });
  const reload = (): ReloadOutcome => {
    let next: BrokerConfig;
    try {
      next = load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log.error({ code: err.code, problem: err.message }, 'config reload refused, the running config stays');
      report(`machmon broker: reload refused, the running config stays: ${err.message}`);
      return { applied: false, message: err.message };
    }
    const reloaded = new Set<string>(RELOADED_KEYS);
    const needRestart = [...new Set([...Object.keys(started), ...Object.keys(next)])]
      .filter((k) => !reloaded.has(k) && JSON.stringify(started[k as keyof BrokerConfig]) !== JSON.stringify(next[k as keyof BrokerConfig]))
      .map((k) => `broker.${k}`);
    const { dropped } = broker.reconfigure(next);
    if (needRestart.length) log.warn({ keys: needRestart }, 'config reload: these keys take effect only after a restart');
    log.info({ auth: next.auth, allowedHosts: next.allowedHosts, readers: next.readers, revokedHosts: next.revokedHosts, dropped }, 'config reloaded');
    return { applied: true, dropped, needRestart };
  };
  const onSignal = () => {
    try {
      reload();
    } catch (err) {
      log.error({ err }, 'config reload failed, the running config stays');
    }
  };
  process.on('SIGHUP', onSignal);
  return { reload, close: () => process.off('SIGHUP', onSignal) };
}
