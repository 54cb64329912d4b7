// `npm run bench -- goals --only a,b` (bench/goals.ts parsePhases): the phases named, or an error naming the known ones.
import { describe, expect, it } from 'vitest';
import { parsePhases, PHASES } from '../../../bench/goals.js';

describe('goals --only', () => {
  it('takes a comma-separated list of known phases', () => {
    expect(parsePhases('storm,overload')).toEqual(['storm', 'overload']);
    expect(parsePhases(' fleet ')).toEqual(['fleet']);
  });

  it('refuses an unknown or empty list, naming the known phases', () => {
    expect(() => parsePhases('storm,stom')).toThrow(`--only: unknown phase stom (known: ${PHASES.join(', ')})`);
    expect(() => parsePhases('')).toThrow('unknown phase (none)');
  });
});
