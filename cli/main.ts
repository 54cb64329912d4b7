// `machmon <command>`: parses arguments, loads and validates the config once, starts the
// command's services and stops them on SIGINT/SIGTERM. Exit codes: 0 done, 1 failure,
// 2 bad usage or configuration.
import { parseCommandLine } from '../common/args.js';
import { ConfigError } from '../common/errors.js';
import { loadConfig, readConfigFile, type Config, type Section } from '../common/config.js';
import { createLogger, type Logger } from '../common/log.js';
import { runUntilSignal, type Service } from '../common/service.js';

interface Command {
  summary: string;
  sections: readonly Section[];
  help: string;
}

const COMMON = `Options:
  --config <file.json>  configuration file (README "Configuration reference"); MACHMON_* variables override keys,
                        e.g. MACHMON_BROKER_PORT=1884, MACHMON_AGENT_PASSWORD=...
  --help                this text`;

export const COMMANDS: Record<string, Command> = {
  broker: {
    summary: 'run the MQTT broker (Aedes) that admits only allowed hosts',
    sections: ['broker'],
    help:
      'Reads the "broker" and "log" sections. Listens on broker.port (and broker.tls.port with a certificate).\n' +
      'SIGHUP (systemctl reload machmon-broker) re-reads the config: secretPassword, readerPassword, auth,\n' +
      'allowedHosts, readers and revokedHosts take effect at once, and connected clients they no longer\n' +
      'admit are disconnected. A config that does not validate is refused and the running one kept.',
  },
  'host-key': {
    summary: "print a host's own password, derived from the fleet password",
    sections: ['broker'],
    help:
      'Usage: machmon host-key <hostname>... Reads the "broker" section. A host key opens the login of that\n' +
      'one host only (broker.auth "hostKeys" or "both"); give it to the Pi as its agent.password\n' +
      '(install.sh --password, or the boot partition\'s machmon.json). With several names, one "name key" line each.',
  },
  agent: {
    summary: "sample this machine's health and publish it",
    sections: ['agent'],
    help: 'Reads the "agent" and "log" sections. Publishes machmon/<hostname>/<metric> at QoS 1.',
  },
  ingestor: {
    summary: 'store every reading from the broker in InfluxDB',
    sections: ['ingestor'],
    help: 'Reads the "ingestor" and "log" sections. Subscribes machmon/+/+ with a persistent session.',
  },
  up: {
    summary: 'broker + ingestor + a local agent in one process',
    sections: ['broker', 'ingestor', 'agent'],
    help:
      'Reads every section. Without --config it uses ./data/machmon.json, created on first run with a\n' +
      'generated fleet password and reader password (added to an older file that has none). The agent\'s\n' +
      'password defaults to broker.secretPassword (its host key with broker.auth "hostKeys"), the\n' +
      'ingestor\'s to broker.readerPassword. SIGHUP re-reads the broker\'s login rules, as for `machmon broker`.',
  },
  'mosquitto-config': {
    summary: "write mosquitto.conf, a password file and an ACL from the broker section",
    sections: ['broker'],
    help:
      'Options: --out <dir> (default ./mosquitto), --hosts a,b,... (hostnames behind the globs of\n' +
      'broker.allowedHosts: a password file needs explicit names). Run mosquitto -c <dir>/mosquitto.conf.',
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

interface Args { command?: string; config?: string; out?: string; hosts?: string; names?: string[]; help: boolean; error?: string }

export function parseArgs(argv: readonly string[]): Args {
  const parsed = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string', short: 'c' },
    out: { type: 'string' },
    hosts: { type: 'string' },
  });
  if ('error' in parsed) return { help: false, error: parsed.error };
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const args: Args = { command, config: values.config, out: values.out, hosts: values.hosts, help: values.help ?? false };
  if (command === 'host-key') args.names = rest;
  else if (rest.length) args.error = `unexpected argument ${rest[0]}`;
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
      return [await startAgent(config.agent!, log)];
    }
    case 'ingestor': {
      const { startIngestor } = await import('../ingestor/ingestor.js');
      return [await startIngestor(config.ingestor!, log)];
    }
    case 'up': {
      const { startUp } = await import('./up.js');
      return startUp(config, log, reread);
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

  if (args.command === 'mosquitto-config') {
    const { writeMosquittoConfig } = await import('../broker/mosquitto-config.js');
    const hosts = args.hosts?.split(',').map((h) => h.trim()).filter(Boolean);
    const r = writeMosquittoConfig(config.broker!, { outDir: args.out ?? './mosquitto', hosts });
    console.log(`wrote ${r.files.conf}\nwrote ${r.files.passwd} (${r.users.length} users)\nwrote ${r.files.acl}`);
    if (r.revoked.length) console.error(`machmon mosquitto-config: left out ${r.revoked.join(', ')} (broker.revokedHosts)`);
    if (r.unexpandedGlobs.length) console.error(`machmon mosquitto-config: no --hosts matched ${r.unexpandedGlobs.join(', ')}: those hosts cannot log in until named`);
    return 0;
  }

  const log = createLogger(config.log);
  let services: Service[];
  try {
    services = await startServices(args.command, config, log, load);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`machmon ${args.command}: ${err.message}`);
      return 2;
    }
    log.fatal({ err }, `${args.command} failed to start`);
    return 1;
  }
  return runUntilSignal(services, log);
}
