// The bundle's top level (kept apart from agent-entry.ts so tests can import that without running it).
import { main } from './agent-entry.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('machmon-agent: unexpected failure:', err);
    process.exit(1);
  },
);
