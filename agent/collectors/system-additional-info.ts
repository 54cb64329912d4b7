// PLACEHOLDER: replaced by the real collector before anything lands.
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'systemAdditionalInfo'> = {
  defaultEnabled: true,
  create: () => ({
    name: 'systemAdditionalInfo',
    collect: async () => {
      throw new NoDataError('systemAdditionalInfo: not implemented yet');
    },
  }),
};
