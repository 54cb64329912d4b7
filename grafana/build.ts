// `npm run dashboards`: rewrites the generated Grafana files, the dashboards
// (grafana/build-dashboards.ts → grafana/dashboards/*.json) and the alert rules
// (grafana/build-alerts.ts → grafana/provisioning/alerting/machmon.yaml);
// `npm run dashboards -- --check` exits 1 when a committed copy differs from its builder.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALERTING_DIR, alertFiles } from './build-alerts.js';
import { DASHBOARD_DIR, dashboardFiles } from './build-dashboards.js';
import { staleFiles } from './generated-files.js';

const OUTPUTS = [
  { dir: DASHBOARD_DIR, builder: 'grafana/build-dashboards.ts', files: dashboardFiles() },
  { dir: ALERTING_DIR, builder: 'grafana/build-alerts.ts', files: alertFiles() },
];

function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { dir, builder, files } of OUTPUTS) {
    const differing = staleFiles(dir, files);
    for (const [file, text] of files) {
      if (!differing.includes(file)) continue;
      const shown = path.relative(process.cwd(), path.join(dir, file));
      stale++;
      if (check) {
        console.error(`${shown} differs from ${builder}: run npm run dashboards`);
        continue;
      }
      writeFileSync(path.join(dir, file), text);
      console.log(`wrote ${shown}`);
    }
  }
  if (check && stale) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
