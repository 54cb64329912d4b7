// Picks the InfluxDB writer for the configured API version; the v2 client library is loaded only when used.
import type { InfluxConfig } from '../config.js';
import type { Logger } from '../../common/log.js';
import type { InfluxWriter } from './types.js';

export { InfluxUnavailableError, lineBatch, type InfluxWriter, type LineBatch, type WriteResult } from './types.js';

export async function createInfluxWriter(cfg: InfluxConfig, log: Logger): Promise<InfluxWriter> {
  if (cfg.apiVersion === 2) {
    const { InfluxV2Writer } = await import('./v2.js');
    return new InfluxV2Writer(cfg, log);
  }
  const { InfluxV1Writer } = await import('./v1.js');
  return new InfluxV1Writer(cfg);
}
