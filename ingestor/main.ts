import type { IngestorConfig } from '../common/config.js';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';

export async function startIngestor(_config: IngestorConfig, _log: Logger): Promise<Service> {
  throw new Error('ingestor: not built yet');
}
