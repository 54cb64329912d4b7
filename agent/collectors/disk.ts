// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'disk'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'disk',
    collect: async () => {
      throw new NoDataError('disk: not implemented yet');
    },
  }),
};
