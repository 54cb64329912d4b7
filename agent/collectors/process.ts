// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'process'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'process',
    collect: async () => {
      throw new NoDataError('process: not implemented yet');
    },
  }),
};
