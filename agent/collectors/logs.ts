// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'logs'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'logs',
    collect: async () => {
      throw new NoDataError('logs: not implemented yet');
    },
  }),
};
