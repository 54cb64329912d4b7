// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'piHealth'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'piHealth',
    collect: async () => {
      throw new NoDataError('piHealth: not implemented yet');
    },
  }),
};
