// Paths of the files the agent reads directly, built from config so tests can point them
// at fixture trees (node_exporter's --path.rootfs idea).
import path from 'node:path';
import type { AgentConfig } from '../config.js';

export interface Paths {
  /** <rootDir>/proc/<...parts> */
  proc(...parts: string[]): string;
  /** <rootDir>/sys/<...parts> */
  sys(...parts: string[]): string;
  /** <rootDir>/<...parts>, for /etc, /var/log, /run */
  root(...parts: string[]): string;
  /** <temperature.sysfsRoot>/sys/<...parts>, for thermal zones, 1-Wire and GPIO */
  sensorSys(...parts: string[]): string;
}

export function makePaths(rootDir = '/', sensorRoot = rootDir): Paths {
  return {
    proc: (...parts) => path.join(rootDir, 'proc', ...parts),
    sys: (...parts) => path.join(rootDir, 'sys', ...parts),
    root: (...parts) => path.join(rootDir, ...parts),
    sensorSys: (...parts) => path.join(sensorRoot, 'sys', ...parts),
  };
}

export const pathsFromConfig = (config: AgentConfig): Paths => makePaths(config.rootDir, config.temperature.sysfsRoot);
