// `machmon <command>`: parses arguments, loads and validates the config once, starts the
// command's services and stops them on SIGINT/SIGTERM. Exit codes: 0 done, 1 failure,
// 2 bad usage or configuration.
import { parseCommandLine } from '../common/args.js';
import { ConfigError } from '../common/errors.js';
import { loadConfig, readConfigFile, type Config, type Section } from '../common/config.js';
import { createLogger, type Logger } from '../common/log.js';
import { runUntilSignal, type Service } from '../common/service.js';
import type { UpConfig } from './up.js';

interface Command {
  summary: string;
  sections: readonly Section[];
  help: string;
}

const COMMON = `Options:
  --config <file.json>  configuration file (keys: README "Configuration reference"); MACHMON_* variables override keys,
                        e.g. MACHMON_BROKER_PORT=1884, MACHMON_AGENT_PASSWORD=...
  --help                this text`;

export const COMMANDS: Record<string, Command> = {
  broker: {
    summary: 'run the MQTT broker (Aedes) that admits only allowed hosts',
    sections: ['broker'],
    help:
      'Reads the "broker" and "log" sections. Listens on broker.port (and broker.tls.port with a certificate).\n' +
      'With broker.metrics.enabled also /metrics, /healthz and /readyz on 127.0.0.1:9883 (broker.metrics.port).',
  },
  agent: {
    summary: "sample this machine's health and publish it",
    sections: ['agent'],
    help: 'Reads the "agent" and "log" sections. Publishes machmon/<hostname>/<metric> at QoS 1.',
  },
  ingestor: {
    summary: 'store every reading from the broker in InfluxDB',
    sections: ['ingestor'],
    help:
      'Reads the "ingestor" and "log" sections. Subscribes machmon/+/+ with a persistent session.\n' +
      'With ingestor.metrics.enabled also /metrics, /healthz and /readyz on 127.0.0.1:9886 (ingestor.metrics.port).',
  },
  up: {
    summary: 'broker + ingestor + a local agent in one process (+ its own InfluxDB when none is there)',
    sections: ['broker', 'ingestor', 'agent', 'influxd'],
    help:
      'Reads every section. Without --config it uses ./data/machmon.json, created on first run with a\n' +
      'generated fleet password and reader password (added to an older file that has none). The agent\'s\n' +
      'password defaults to broker.secretPassword (its host key with broker.auth "hostKeys"), the\n' +
      'ingestor\'s to broker.readerPassword. SIGHUP re-reads the broker\'s login rules, as for `machmon broker`.\n' +
      'Without ingestor.influx.url and with nothing answering at 127.0.0.1:<influxd.port> it runs Debian\'s\n' +
      'influxd itself (data in influxd.dataDir, stopped with up). The broker\'s and the ingestor\'s /metrics,\n' +
      '/healthz and /readyz are on (127.0.0.1:9883 and :9886, a free port when a default one is taken).',
  },
  'host-key': {
    summary: "print a host's own password, derived from the fleet password",
    sections: ['broker'],
    help:
      'Usage: machmon host-key <hostname>... Reads the "broker" section. A host key opens the login of that\n' +
      'one host only (broker.auth "hostKeys" or "both"); give it to the Pi as its agent.password\n' +
      '(install.sh --password, or the boot partition\'s machmon.json). With several names, one "name key" line each.',
  },
  'mosquitto-config': {
    summary: "write mosquitto.conf, a password file and an ACL from the broker section",
    sections: ['broker'],
    help:
      'Options: --out <dir> (default ./mosquitto), --hosts a,b,... (hostnames behind the globs of\n' +
      'broker.allowedHosts: a password file needs explicit names). Run mosquitto -c <dir>/mosquitto.conf.',
  },
  forget: {
    summary: "remove retired hosts: their retained status and their Home Assistant device",
    sections: ['ingestor'],
    help:
      'Usage: machmon forget <hostname>... Reads the "ingestor" section and logs in as the ingestor does.\n' +
      'Deletes the retained machmon/<host>/status and every retained Home Assistant discovery config, state\n' +
      'and availability topic of the host (empty retained messages), so the device disappears from Home\n' +
      'Assistant. A host still running comes back with its next reading.',
  },
  top: {
    summary: 'the fleet live in the terminal: one line per host, from the broker',
    sections: [],
    help:
      'Options: --url <mqtt://host:port> --user <reader> --password <pw> (default: the reader login of\n' +
      '--config or ./data/machmon.json: broker.readers[0], the fleet password, 127.0.0.1:broker.port),\n' +
      '--once (print one table and exit), --json (one JSON object per host and exit).\n' +
      'Keys: h host, c CPU, t temperature, a age (again: reverse), q quit.',
  },
  decode: {
    summary: "turn `mosquitto_sub -F '%t %x'` lines on stdin into JSON",
    sections: [],
    help: "Example: mosquitto_sub -u ingestor -P \"$PW\" -t 'machmon/#' -F '%t %x' | npx machmon decode",
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: machmon <command> [--config <file.json>]\n\nCommands:\n${lines.join('\n')}\n\n${COMMON}`;
}

interface Args {
  command?: string;
  config?: string;
  out?: string;
  hosts?: string;
  /** host-key and forget: the hostnames. */
  names?: string[];
  url?: string;
  user?: string;
  password?: string;
  once?: boolean;
  json?: boolean;
  help: boolean;
  error?: string;
}

/** Options that only some commands take; given to another they are an error, not ignored. */
const ONLY_FOR: Record<string, string> = { out: 'mosquitto-config', hosts: 'mosquitto-config', url: 'top', user: 'top', password: 'top', once: 'top', json: 'top' };

export function parseArgs(argv: readonly string[]): Args {
  const parsed = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string', short: 'c' },
    out: { type: 'string' },
    hosts: { type: 'string' },
    url: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    once: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if ('error' in parsed) return { help: false, error: parsed.error };
  const { values, positionals } = parsed;
  const args: Args = {
    command: positionals[0],
    config: values.config,
    out: values.out,
    hosts: values.hosts,
    url: values.url,
    user: values.user,
    password: values.password,
    once: values.once,
    json: values.json,
    help: values.help ?? false,
  };
  const rest = positionals.slice(1);
  if (args.command === 'host-key' || args.command === 'forget') args.names = rest;
  else if (rest.length) args.error = `unexpected argument ${rest[0]}`;
  const misplaced = Object.keys(ONLY_FOR).find((o) => values[o as keyof typeof values] !== undefined && ONLY_FOR[o] !== args.command);
  if (misplaced && args.command && !args.error) args.error = `--${misplaced} is an option of machmon ${ONLY_FOR[misplaced]}, not of ${args.command}`;
  return args;
}

async function startServices(command: string, config: Config, log: Logger, reread: () => Config): Promise<Service[]> {
  switch (command) {
    case 'broker': {
      const { startBroker } = await import('../broker/server.js');
      const { reloadOnSignal } = await import('../broker/reload.js');
      const broker = await startBroker(config.broker!, log);
      reloadOnSignal(broker, config.broker!, () => reread().broker!, log);
      return [broker];
    }
    case 'agent': {
      const { startAgent } = await import('../agent/runtime/agent.js');
      const { unpoolSmallBuffers } = await import('../agent/runtime/buffer-pool.js');
      unpoolSmallBuffers();
      return [await startAgent(config.agent!, log)];
    }
    case 'ingestor': {
      const { startIngestor } = await import('../ingestor/ingestor.js');
      return [await startIngestor(config.ingestor!, log)];
    }
    case 'up': {
      const { startUp } = await import('./up.js');
      return startUp(config as UpConfig, log, upOnTerminal() ? process.stdout : undefined, reread);
    }
    default:
      throw new Error(`no services for ${command}`);
  }
}

export async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.error) {
    console.error(`machmon: ${args.error}\n\n${usage()}`);
    return 2;
  }
  const command = args.command ? COMMANDS[args.command] : undefined;
  if (args.help || !args.command) {
    console.log(command ? `Usage: machmon ${args.command} [--config <file.json>]\n\n${command.summary}.\n${command.help}\n\n${COMMON}` : usage());
    return args.help ? 0 : 2;
  }
  if (!command) {
    console.error(`machmon: unknown command "${args.command}"\n\n${usage()}`);
    return 2;
  }
  if (args.command === 'top') {
    const { runTop } = await import('./top.js');
    return runTop({ config: args.config, url: args.url, user: args.user, password: args.password, once: args.once ?? false, json: args.json ?? false });
  }
  if (args.command === 'decode') {
    const { runDecode } = await import('./decode.js');
    return runDecode(process.stdin, process.stdout, process.stderr);
  }

  const { loadUpConfig } = await import('./up.js');
  const sections = command.sections;
  // Also what SIGHUP runs again (the broker's reload): the same loading and the same messages.
  const load = (): Config =>
    args.command === 'up' ? loadUpConfig(args.config) : loadConfig({ raw: args.config ? readConfigFile(args.config) : {}, source: args.config ?? 'the environment', sections });
  let config: Config;
  try {
    config = load();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`machmon ${args.command}: ${err.message}`);
      return 2;
    }
    throw err;
  }

  if (args.command === 'host-key') {
    const { printHostKeys } = await import('./host-key.js');
    return printHostKeys(config.broker!, args.names ?? []);
  }

  if (args.command === 'forget') {
    const { runForget } = await import('./forget.js');
    return runForget(config.ingestor!, args.names ?? []);
  }

  if (args.command === 'mosquitto-config') {
    const { writeMosquittoConfig } = await import('../broker/mosquitto-config.js');
    const hosts = args.hosts?.split(',').map((h) => h.trim()).filter(Boolean);
    const r = writeMosquittoConfig(config.broker!, { outDir: args.out ?? './mosquitto', hosts });
    console.log(`wrote ${r.files.conf}\nwrote ${r.files.passwd} (${r.users.length} users)\nwrote ${r.files.acl}`);
    if (r.revoked.length) console.error(`machmon mosquitto-config: left out ${r.revoked.join(', ')} (broker.revokedHosts)`);
    if (r.unexpandedGlobs.length) console.error(`machmon mosquitto-config: no --hosts matched ${r.unexpandedGlobs.join(', ')}: those hosts cannot log in until named`);
    return 0;
  }

  let log: Logger;
  if (args.command === 'up' && upOnTerminal()) {
    // The terminal gets a few lines and a status line; the full JSON log goes to log.file.
    const { upLogConfig } = await import('./up-screen.js');
    config = { ...config, log: upLogConfig(config.log, true) } as UpConfig;
    log = createLogger(config.log, 'machmon', { terminal: 'error' });
  } else {
    log = createLogger(config.log);
  }
  let services: Service[];
  const early = deferSignals(log);
  try {
    services = await startServices(args.command, config, log, load);
  } catch (err) {
    early.release();
    if (err instanceof ConfigError) {
      console.error(`machmon ${args.command}: ${err.message}`);
      return 2;
    }
    log.fatal({ err }, `${args.command} failed to start`);
    return 1;
  }
  if (early.signal) {
    early.release();
    log.info({ signal: early.signal }, 'stopping');
    const results = await Promise.allSettled(services.map((s) => s.stop()));
    return results.some((r) => r.status === 'rejected') ? 1 : 0;
  }
  // runUntilSignal listens before the early listeners go: with none in between, Node would
  // close its signal watcher and a signal arriving just then would be lost.
  const running = runUntilSignal(services, log);
  early.release();
  return running;
}

/** `machmon up` on a terminal shows a screen a person reads; off one (systemd, CI, a pipe) it logs as the other commands. */
const upOnTerminal = () => !!process.stdout.isTTY;

/**
 * A SIGINT/SIGTERM while the services start is kept and acted on once they are up, so that
 * what was started (a child influxd, say) is stopped, not orphaned; a second one exits at once.
 */
function deferSignals(log: Logger): { readonly signal: string | undefined; release(): void } {
  const state = { signal: undefined as string | undefined };
  const onSignal = (sig: NodeJS.Signals) => {
    if (state.signal) process.exit(130);
    state.signal = sig;
    log.info({ signal: sig }, 'stopping once started (again to exit now)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get signal() {
      return state.signal;
    },
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
