/**
 * Load a world from a snapshot directory or a lab file (by what the path is).
 */
import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { World } from './netns.js';
import { loadSnapshot, type LoadOptions } from './snapshot/load.js';
import { loadLab } from './lab.js';

/** Load `path`: a directory is a snapshot, a .yaml/.yml/.json file a lab. */
export function loadWorld(path: string, opts: LoadOptions): World {
  if (!existsSync(path)) throw new ConfigError(path, '', 'does not exist; give a snapshot directory (pktpath snapshot DIR) or a lab file');
  if (statSync(path).isDirectory()) return loadSnapshot(path, opts);
  if (/\.(ya?ml|json)$/i.test(path)) return loadLab(path, opts);
  throw new ConfigError(path, '', 'is neither a snapshot directory nor a lab file (.yaml, .yml or .json)');
}
