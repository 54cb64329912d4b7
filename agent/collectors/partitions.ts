// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'partitions'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'partitions',
    collect: async () => {
      throw new NoDataError('partitions: not implemented yet');
    },
  }),
};
