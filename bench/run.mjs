#!/usr/bin/env node
// `npm run bench [-- <name> [options]]`: the benchmarks of bench/ (compiled to dist/bench by
// scripts/ensure.mjs). Names: default (fleet vs mosquitto baseline, then agent footprint),
// fleet, baseline, agent, outage, record. Every benchmark is bounded in time, runs only on
// 127.0.0.1, and ends with one summary line.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/bench/cli.js');
const { main } = await import(dist);
process.exitCode = await main(process.argv.slice(2));
