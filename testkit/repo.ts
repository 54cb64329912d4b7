// Paths of the checkout, the same from sources run by vitest (testkit/, bench/) and from the
// compiled dist/ that `npm run bench` runs.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Root of the checkout. */
export const REPO = here.split(path.sep).includes('dist') ? path.resolve(here, '../..') : path.resolve(here, '..');
/** `machmon` as users run it (the compiled dist/). */
export const MACHMON = path.join(REPO, 'bin/machmon.js');
