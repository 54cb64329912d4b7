// The files of grafana/ that are generated (dashboards, alert rules): where they live and
// whether the committed copies are what their builder writes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// Also run compiled, from dist/grafana/: the generated files stay beside the sources.
const REPO = path.resolve(HERE, path.basename(path.dirname(HERE)) === 'dist' ? '../..' : '..');
export const GRAFANA_DIR = path.join(REPO, 'grafana');

/** Names of `files` ([name, text]) whose copy in `dir` differs or is missing. */
export function staleFiles(dir: string, files: readonly (readonly [file: string, text: string])[]): string[] {
  return files
    .filter(([file, text]) => {
      try {
        return readFileSync(path.join(dir, file), 'utf8') !== text;
      } catch {
        return true;
      }
    })
    .map(([file]) => file);
}
