// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'temperature'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'temperature',
    collect: async () => {
      throw new NoDataError('temperature: not implemented yet');
    },
  }),
};
