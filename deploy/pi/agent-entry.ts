// Entry of the self-contained agent bundle for Raspberry Pi OS (Debian bookworm's Node 18),
// built by scripts/build-agent.mjs into one file, machmon-agent.cjs:
//   node machmon-agent.cjs [--config /etc/machmon/agent.json]     run the agent
//   node machmon-agent.cjs first-boot [--config F] [--owner USER] [--boot-file F]...
// It holds the agent only: no broker, no InfluxDB client (a test reads the bundle's metafile).
import { readFileSync } from 'node:fs';
import { parseCommandLine } from '../../common/args.js';
import { agentConfigLoader } from '../../agent/config.js';
import { readConfigFile } from '../../common/config-loader.js';
import { ConfigError } from '../../common/errors.js';
import { runUntilSignal, type Service } from '../../common/service.js';
import { adoptBootConfig, BOOT_CONFIG_FILES, DEFAULT_CONFIG_FILE, lookupUser, type Owner } from './first-boot.js';

/** Replaced by the bundler with package.json's version. */
declare const MACHMON_AGENT_VERSION: string | undefined;
export const VERSION = typeof MACHMON_AGENT_VERSION === 'string' ? MACHMON_AGENT_VERSION : 'dev';

const USAGE = `Usage: node machmon-agent.cjs [--config <file.json>]
       node machmon-agent.cjs first-boot [--config <file.json>] [--owner <user>] [--boot-file <file>]...

Runs the Machmon agent (version ${VERSION}) with the "agent" and "log" sections of the config file
(default ${DEFAULT_CONFIG_FILE}); MACHMON_AGENT_* variables override its keys.

first-boot: if ${BOOT_CONFIG_FILES.join(' or ')} exists, it becomes the config file
(owned by --owner, mode 600) and is removed from the boot partition. Run as root, before the agent.

Options:
  --config <file.json>  config file (default ${DEFAULT_CONFIG_FILE})
  --owner <user>        first-boot: owner of the written config file
  --boot-file <file>    first-boot: a candidate boot file instead of the defaults (repeatable)
  --version             print the version
  --help                this text`;

interface Args { command: 'agent' | 'first-boot'; config: string; owner?: string; bootFiles: string[]; help: boolean; version: boolean; error?: string }

export function parseArgs(argv: readonly string[]): Args {
  const parsed = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    config: { type: 'string', short: 'c', default: DEFAULT_CONFIG_FILE },
    owner: { type: 'string' },
    'boot-file': { type: 'string', multiple: true, default: [] },
  });
  if ('error' in parsed) return { command: 'agent', config: DEFAULT_CONFIG_FILE, bootFiles: [], help: false, version: false, error: parsed.error };
  const { values, positionals } = parsed;
  const args: Args = {
    command: positionals[0] === 'first-boot' ? 'first-boot' : 'agent',
    config: values.config,
    owner: values.owner,
    bootFiles: values['boot-file'],
    help: values.help ?? false,
    version: values.version ?? false,
  };
  const extra = positionals.slice(args.command === 'first-boot' ? 1 : 0);
  if (extra.length) args.error = `unexpected argument ${extra[0]}`;
  else if (args.command === 'agent' && (args.owner || args.bootFiles.length)) args.error = '--owner and --boot-file belong to first-boot';
  return args;
}

function firstBoot(args: Args): number {
  let owner: Owner | undefined;
  if (args.owner) {
    owner = lookupUser(readFileSync('/etc/passwd', 'utf8'), args.owner);
    if (!owner) {
      console.error(`machmon-agent first-boot: user ${args.owner} does not exist (the installer creates it)`);
      return 1;
    }
  }
  const result = adoptBootConfig({ configFile: args.config, owner, bootFiles: args.bootFiles.length ? args.bootFiles : undefined });
  if (result.action === 'adopted') console.log(`machmon-agent first-boot: took ${result.from} as ${result.to} and removed it from the boot partition`);
  else if (result.action === 'refused') console.error(`machmon-agent first-boot: ${result.from} was not taken (renamed to ${result.movedTo}):\n${result.reason}`);
  return 0;
}

async function runAgent(args: Args): Promise<number> {
  let config: ReturnType<typeof agentConfigLoader.load>;
  try {
    config = agentConfigLoader.load({ raw: readConfigFile(args.config), source: args.config, sections: ['agent'] });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`machmon-agent: ${err.message}`);
      return 2;
    }
    throw err;
  }
  // Loaded only here: first-boot (every service start) and --version stay quick on a Pi Zero.
  const { createLogger } = await import('../../common/log.js');
  const { startAgent } = await import('../../agent/runtime/agent.js');
  const { unpoolSmallBuffers } = await import('../../agent/runtime/buffer-pool.js');
  unpoolSmallBuffers();
  const log = createLogger(config.log);
  let service: Service;
  try {
    service = await startAgent(config.agent!, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`machmon-agent: ${err.message}`);
      return 2;
    }
    log.fatal({ err }, 'agent failed to start');
    return 1;
  }
  log.info({ version: VERSION, node: process.version }, 'machmon-agent bundle running');
  return runUntilSignal([service], log);
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.error) {
    console.error(`machmon-agent: ${args.error}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.version) {
    console.log(VERSION);
    return 0;
  }
  return args.command === 'first-boot' ? firstBoot(args) : runAgent(args);
}
