import type { AgentConfig } from '../common/config.js';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';

export async function startAgent(_config: AgentConfig, _log: Logger): Promise<Service> {
  throw new Error('agent: not built yet');
}
