// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'processesNumber'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'processesNumber',
    collect: async () => {
      throw new NoDataError('processesNumber: not implemented yet');
    },
  }),
};
