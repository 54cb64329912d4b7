// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'ioRatio'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'ioRatio',
    collect: async () => {
      throw new NoDataError('ioRatio: not implemented yet');
    },
  }),
};
