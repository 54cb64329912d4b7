// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'latency'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'latency',
    collect: async () => {
      throw new NoDataError('latency: not implemented yet');
    },
  }),
};
