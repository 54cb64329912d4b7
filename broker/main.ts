import type { BrokerConfig } from '../common/config.js';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';

export async function startBroker(_config: BrokerConfig, _log: Logger): Promise<Service> {
  throw new Error('broker: not built yet');
}
