// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'mem'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'mem',
    collect: async () => {
      throw new NoDataError('mem: not implemented yet');
    },
  }),
};
