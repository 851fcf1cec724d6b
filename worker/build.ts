import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

/**
 * This code's build id: the package version and the commit it runs from,
 * e.g. `0.2.0+4892d47` (`+modified` when the checkout has changes).
 * GTIDFLOW_BUILD_ID overrides it, for an install without its git checkout.
 */
export function buildId(): string {
  if (process.env.GTIDFLOW_BUILD_ID) return process.env.GTIDFLOW_BUILD_ID;
  const { version } = require('../package.json') as { version: string };
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (git('rev-parse', '--show-toplevel') !== ROOT) return version;
    const modified = git('status', '--porcelain', '--untracked-files=no', '--', 'workflows', 'activities', 'worker') !== '';
    return `${version}+${git('rev-parse', '--short=7', 'HEAD')}${modified ? '.modified' : ''}`;
  } catch {
    return version;
  }
}
