// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'cpu'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'cpu',
    collect: async () => {
      throw new NoDataError('cpu: not implemented yet');
    },
  }),
};
