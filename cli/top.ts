// `machmon top`: the fleet live in a terminal, read from the broker as a reader
// (README "Watching the fleet: machmon top"). Status and readings of machmon/+/+ at QoS 0 on a
// clean session of its own, so it takes nothing from the ingestor. --once prints one table,
// --json one JSON object per host, and both exit.
import { existsSync } from 'node:fs';
import { loadConfig, readConfigFile } from '../common/config.js';
import { ConfigError } from '../common/errors.js';
import { brokerReaderLogin, watch, type ReaderLogin } from './fleet-watch.js';
import { SORT_KEYS, sortRows, type SortKey } from './top-model.js';
import { renderScreen, renderTable } from './top-render.js';
import { DEFAULT_UP_CONFIG } from './up.js';

export interface TopOptions {
  config?: string;
  url?: string;
  user?: string;
  password?: string;
  once: boolean;
  json: boolean;
}

/**
 * The login of a reader: --url/--user/--password, else from the config (--config, or
 * ./data/machmon.json of `machmon up`): the first of broker.readers with the fleet password,
 * at 127.0.0.1:broker.port. Options given override the config's values.
 */
export function readerLogin(opts: TopOptions, env: NodeJS.ProcessEnv = process.env): ReaderLogin {
  if (opts.password !== undefined) {
    return { url: opts.url ?? 'mqtt://127.0.0.1:1883', username: opts.user ?? 'ingestor', password: opts.password };
  }
  const file = opts.config ?? DEFAULT_UP_CONFIG;
  if (!opts.config && !existsSync(file)) {
    throw new ConfigError(`no ${file} here to read the reader login from: run top where \`machmon up\` runs, or give --config <file.json>, or --url, --user and --password`);
  }
  const broker = loadConfig({ raw: readConfigFile(file), source: file, sections: ['broker'], env }).broker!;
  const login = brokerReaderLogin(broker, file);
  return { url: opts.url ?? login.url, username: opts.user ?? login.username, password: login.password };
}

/** How long --once and --json wait for every online host's CPU, memory and disk. */
const ONCE_WAIT_MS = 15_000;
/** How long they try to reach the broker. */
const CONNECT_WAIT_MS = 5_000;

async function runOnce(login: ReaderLogin, opts: TopOptions, out: NodeJS.WritableStream, errors: NodeJS.WritableStream): Promise<number> {
  let wake: () => void = () => undefined;
  const w = watch(login, () => wake());
  const deadline = Date.now() + ONCE_WAIT_MS;
  // Retained statuses come right after the subscription; then wait for the readings of every online host.
  let subscribedAt: number | undefined;
  const connectBy = Date.now() + CONNECT_WAIT_MS;
  while (Date.now() < deadline && !w.state.fatal) {
    if (w.state.text.startsWith('connected') && subscribedAt === undefined) subscribedAt = Date.now();
    if (subscribedAt === undefined && Date.now() > connectBy) break;
    if (subscribedAt !== undefined && Date.now() - subscribedAt > 500 && w.fleet.size > 0 && w.fleet.complete()) break;
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 100);
    });
  }
  await w.client.endAsync(true);
  if (w.state.fatal || subscribedAt === undefined) {
    errors.write(`machmon top: ${w.state.fatal ?? `could not connect to ${login.url}: ${w.state.text}`}\n`);
    return 1;
  }
  const rows = sortRows(w.fleet.rows(Date.now()), 'host');
  if (opts.json) for (const r of rows) out.write(`${JSON.stringify(r)}\n`);
  else out.write(renderTable(rows));
  return 0;
}

async function runLive(login: ReaderLogin): Promise<number> {
  const stdout = process.stdout;
  const stdin = process.stdin;
  let sort: SortKey = 'host';
  let reverse = false;
  let scheduled: NodeJS.Timeout | undefined;
  const draw = () => {
    scheduled = undefined;
    const lines = renderScreen({
      rows: sortRows(w.fleet.rows(Date.now()), sort, reverse),
      sort,
      reverse,
      source: `${login.username}@${login.url}`,
      connection: w.state.text,
      width: stdout.columns || 80,
      height: stdout.rows || 24,
      color: true,
    });
    stdout.write(`\x1b[H${lines.join('\x1b[K\r\n')}\x1b[K\x1b[J`);
  };
  const soon = () => {
    scheduled ??= setTimeout(draw, 200);
  };
  const w = watch(login, soon);
  stdout.write('\x1b[?1049h\x1b[?25l');
  const restore = () => stdout.write('\x1b[?25h\x1b[?1049l');
  process.once('exit', restore);
  stdin.setRawMode?.(true);
  stdin.resume();
  const ticker = setInterval(draw, 1_000);
  stdout.on('resize', draw);
  draw();
  await new Promise<void>((resolve) => {
    stdin.on('data', (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === 'q' || ch === '\x03' || ch === '\x04') return resolve();
        const key = SORT_KEYS[ch.toLowerCase()];
        if (!key) continue;
        reverse = key === sort ? !reverse : false;
        sort = key;
        draw();
      }
    });
    process.once('SIGTERM', () => resolve());
    process.once('SIGHUP', () => resolve());
  });
  clearInterval(ticker);
  clearTimeout(scheduled);
  stdout.off('resize', draw);
  stdin.setRawMode?.(false);
  stdin.pause();
  restore();
  process.off('exit', restore);
  await w.client.endAsync(true);
  return w.state.fatal ? 1 : 0;
}

export async function runTop(opts: TopOptions, errors: NodeJS.WritableStream = process.stderr): Promise<number> {
  let login: ReaderLogin;
  try {
    login = readerLogin(opts);
  } catch (err) {
    if (err instanceof ConfigError) {
      errors.write(`machmon top: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.once || opts.json) return runOnce(login, opts, process.stdout, errors);
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    errors.write('machmon top: the live view needs a terminal; use --once (a table) or --json (one object per host)\n');
    return 2;
  }
  return runLive(login);
}
