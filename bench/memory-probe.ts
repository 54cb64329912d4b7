// Bench-only preload of the soak (bench/soak.ts): `node --import <this file>?out=<file>&everyMs=<ms> …`
// in the broker, the ingestor and the agent, so that their heap is read from inside each
// process without changing the programs. Every `everyMs` it runs a full garbage collection
// and then writes process.memoryUsage() to `out` (JSON, replaced atomically): after a full
// collection the heap holds only what is reachable, so a heap that grows from one sample to
// the next is memory kept, not garbage not yet collected. The timer is unref'd: the probe
// never keeps a process alive, and a failed write is ignored (the soak sees a stale sample).
import { renameSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const query = new URL(import.meta.url).searchParams;
const out = query.get('out');
const everyMs = Number(query.get('everyMs') ?? 10_000);

if (out && everyMs > 0) {
  // The gc() of --expose-gc without adding that flag to the process's command line.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const sample = () => {
    const t0 = performance.now();
    gc();
    const gcMs = performance.now() - t0;
    const m = process.memoryUsage();
    try {
      writeFileSync(`${out}.tmp`, JSON.stringify({ at: Date.now(), gcMs, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss }));
      renameSync(`${out}.tmp`, out);
    } catch { /* the soak reads the previous sample */ }
  };
  setInterval(sample, everyMs).unref();
  setTimeout(sample, 100).unref();
}
