// Paths of the benchmarks, under the checkout's root (testkit/repo.ts, the same from sources
// run by vitest and from the compiled dist/ that `npm run bench` runs).
import path from 'node:path';
import { REPO } from '../testkit/repo.js';

/** Recorded readings the simulated agents publish. */
export const PAYLOADS_DIR = path.join(REPO, 'bench/payloads');
/** Compiled bench modules (worker entry points are forked from here). */
export const DIST_BENCH = path.join(REPO, 'dist/bench');
