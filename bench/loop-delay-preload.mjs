// Preloaded (`node --import`) into an agent by `npm run bench -- agent`: measures the event loop's
// delays with perf_hooks.monitorEventLoopDelay (10 ms resolution) and writes the longest pause,
// the 99th percentile and the mean, in ms, to $MACHMON_BENCH_LOOP_FILE once a second. The
// histogram is reset when $MACHMON_BENCH_LOOP_RESET_MS have passed (the warm-up), so start-up
// (module loading, the first cycle) is not counted.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.MACHMON_BENCH_LOOP_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const resetAfter = Number(process.env.MACHMON_BENCH_LOOP_RESET_MS || 0);
  if (resetAfter > 0) setTimeout(() => h.reset(), resetAfter).unref();
  setInterval(() => {
    writeFileSync(file, JSON.stringify({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, meanMs: h.mean / 1e6, count: h.count }));
  }, 1000).unref();
}
