#!/usr/bin/env node
// `npm run bench [-- <name> [options]]`: the benchmarks of bench/ (compiled to dist/bench by
// scripts/ensure.mjs). Names: default or goals [--agents N --minutes N --repeats N
// --overloadSeconds N --only fleet,capacity,overload,storm] (the goals of README "Scaling", last line GOALS-MET or GOALS-MISSED),
// ingestor [--repeats N --burstAgents N --burstMessages N] (the ingestor alone, last line GOALS-MET or GOALS-MISSED),
// soak [--agents N --minutes N --every MIN --warmup MIN --sampleSeconds N] (memory of broker,
// ingestor and one real agent over a long run; not in CI), fleet [--agents N --cycles N --intervalMs MS --workers N
// --burstAgents N --burstMessages N --repeats N], agent [--seconds N], home-assistant [--hosts N
// --cycles N] (what the Home Assistant bridge costs per reading), record (re-record
// bench/payloads from the collectors), profile-top <file.cpuprofile>. Every benchmark is
// bounded in time, runs only on 127.0.0.1, and ends with one SUMMARY (or GOALS) line.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/bench/cli.js');
const { main } = await import(dist);
process.exitCode = await main(process.argv.slice(2));
