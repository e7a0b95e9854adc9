/**
 * Load a world from a snapshot directory or a lab file (by what the path is).
 */
import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { World } from './netns.js';
import { loadSnapshot, type LoadOptions } from './snapshot/load.js';

/** Load `path`: a directory is a snapshot. */
export function loadWorld(path: string, opts: LoadOptions): World {
  if (!existsSync(path)) throw new ConfigError(path, '', 'does not exist; give a snapshot directory (pktpath snapshot DIR) or a lab file');
  if (statSync(path).isDirectory()) return loadSnapshot(path, opts);
  throw new ConfigError(path, '', 'lab files are not supported yet; give a snapshot directory');
}
