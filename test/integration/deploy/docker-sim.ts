// Builds deploy/Dockerfile without Docker, step by step, into folders: each stage gets a fake
// root, WORKDIR/COPY/ENV are followed as written, and the few RUN commands the Dockerfile uses
// are carried out with this checkout's tools (`npm ci` becomes a link to the checkout's
// node_modules, installed from the same lock file; `npm prune` is skipped). An instruction it
// does not know fails the build, so the Dockerfile and this simulation cannot drift apart.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../../../testkit/repo.js';
import { tempDir } from './tmp.js';

export interface SimulatedImage {
  /** The final stage's root folder; image paths such as /app map to path.join(root, 'app'). */
  root: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  user: string;
}

interface Stage { alias?: string; root: string; cwd: string }

/** Joins logical Dockerfile lines (trailing backslashes) and drops comments. */
function instructions(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export function simulateDockerBuild(dockerfile = path.join(REPO, 'deploy/Dockerfile'), context = REPO): SimulatedImage {
  const ignored = readFileSync(`${dockerfile}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const base = tempDir('machmon-image-');
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  let env: Record<string, string> = {};
  let entrypoint: string[] = [];
  let user = 'root';
  const cur = () => {
    const s = stages.at(-1);
    if (!s) throw new Error('instruction before FROM');
    return s;
  };
  const inStage = (s: Stage, p: string) => path.join(s.root, path.isAbsolute(p) ? p : path.join(s.cwd, p));

  for (const line of instructions(readFileSync(dockerfile, 'utf8'))) {
    const [op, ...rest] = line.split(/\s+/);
    const arg = line.slice(op!.length).trim();
    switch (op) {
      case 'ARG': {
        const [k, v] = arg.split('=');
        args[k!] = v ?? '';
        break;
      }
      case 'FROM': {
        const alias = /\bAS\s+(\S+)/i.exec(arg)?.[1];
        const root = path.join(base, `stage${stages.length}`);
        mkdirSync(root);
        stages.push({ alias, root, cwd: '/' });
        env = {};
        user = 'root';
        break;
      }
      case 'WORKDIR':
        cur().cwd = arg;
        mkdirSync(inStage(cur(), '.'), { recursive: true });
        break;
      case 'ENV':
        for (const m of arg.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
        break;
      case 'COPY': {
        const from = rest.find((r) => r.startsWith('--from='))?.slice('--from='.length);
        const parts = rest.filter((r) => !r.startsWith('--'));
        const dest = parts.pop()!;
        for (const src of parts) {
          let source: string;
          if (from) {
            const stage = stages.find((s) => s.alias === from);
            if (!stage) throw new Error(`COPY --from=${from}: no such stage`);
            source = path.join(stage.root, src);
          } else {
            if (ignored.includes(src.split('/')[0]!)) throw new Error(`COPY ${src}: excluded by the .dockerignore`);
            source = path.join(context, src);
          }
          if (!existsSync(source)) throw new Error(`COPY ${src}: not found (${source})`);
          const target = dest.endsWith('/') ? path.join(inStage(cur(), dest), path.basename(src)) : inStage(cur(), dest);
          mkdirSync(path.dirname(target), { recursive: true });
          cpSync(source, target, { recursive: true, verbatimSymlinks: true, filter: (p) => !p.includes(`${path.sep}node_modules${path.sep}`) || from !== undefined });
        }
        break;
      }
      case 'RUN':
        for (const cmd of arg.split('&&').map((c) => c.trim())) run(cmd, cur());
        break;
      case 'USER':
        user = arg;
        break;
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(arg) as string[];
        break;
      case 'VOLUME':
      case 'EXPOSE':
      case 'HEALTHCHECK':
      case 'CMD':
        break;
      default:
        throw new Error(`the Docker build simulation does not know ${op}`);
    }
  }
  const last = cur();
  return { root: last.root, workdir: last.cwd, env, entrypoint, user };
}

function run(cmd: string, stage: Stage) {
  const cwd = path.join(stage.root, stage.cwd);
  if (/^npm ci\b/.test(cmd)) {
    symlinkSync(path.join(REPO, 'node_modules'), path.join(cwd, 'node_modules'));
  } else if (/^npm prune\b/.test(cmd)) {
    // The checkout's node_modules stays whole (dev dependencies too).
  } else if (/^npx tsc -p tsconfig.json$/.test(cmd)) {
    const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd, encoding: 'utf8', timeout: 180_000 });
    // tsc emits even with type errors (other parts of the checkout may be mid-edit); Docker would stop.
    if (!existsSync(path.join(cwd, 'dist/cli/main.js'))) throw new Error(`tsc in the build stage emitted no dist/cli/main.js:\n${r.stdout}${r.stderr}`);
  } else if (/^mkdir -p \/var\/lib\/machmon$/.test(cmd)) {
    mkdirSync(path.join(stage.root, 'var/lib/machmon'), { recursive: true });
  } else if (/^chown node:node \/var\/lib\/machmon$/.test(cmd)) {
    // No user "node" here: ownership is the test's business.
  } else {
    throw new Error(`the Docker build simulation does not know RUN ${cmd}`);
  }
}
