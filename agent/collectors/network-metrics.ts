// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'networkMetrics'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'networkMetrics',
    collect: async () => {
      throw new NoDataError('networkMetrics: not implemented yet');
    },
  }),
};
