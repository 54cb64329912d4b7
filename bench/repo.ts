// Paths of the repository, the same from bench/*.ts (vitest) and dist/bench/*.js (npm run bench).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Root of the checkout. */
export const REPO = here.split(path.sep).includes('dist') ? path.resolve(here, '../..') : path.resolve(here, '..');
/** `machmon` as users run it (the compiled dist/). */
export const MACHMON = path.join(REPO, 'bin/machmon.js');
/** Recorded readings the simulated agents publish. */
export const PAYLOADS_DIR = path.join(REPO, 'bench/payloads');
/** Compiled bench modules (worker entry points are forked from here). */
export const DIST_BENCH = path.join(REPO, 'dist/bench');
