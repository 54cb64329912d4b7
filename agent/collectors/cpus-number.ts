// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'cpusNumber'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'cpusNumber',
    collect: async () => {
      throw new NoDataError('cpusNumber: not implemented yet');
    },
  }),
};
