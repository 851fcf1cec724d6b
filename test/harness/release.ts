import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atEnd } from './cleanup';
import { tempDir } from './tempdir';

const ROOT = path.join(__dirname, '..', '..');

export interface Release {
  version: string;
  commit: string;
}

/** The releases CHANGELOG.md records (`## <version> — <sha>`), newest first; a clone does not always carry tags. */
export function releases(): Release[] {
  const changelog = fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8');
  return [...changelog.matchAll(/^## (\S+) — ([0-9a-f]{40})$/gm)].map(([, version, commit]) => ({ version, commit }));
}

/**
 * A release's tree, extracted into a temp directory (git archive: the
 * repository's own work tree is left alone), using this checkout's
 * node_modules: a release that changed its dependencies needs its own
 * `npm ci` there instead.
 */
export function checkoutRelease(release: Release): string {
  const dir = tempDir(`release-${release.version}`);
  execFileSync('bash', ['-c', `git archive ${release.commit} | tar -x -C "${dir}"`], { cwd: ROOT });
  atEnd(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const theirs = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  if (JSON.stringify(theirs.dependencies) !== JSON.stringify(ours.dependencies)) {
    throw new Error(`release ${release.version} has other dependencies: run npm ci in ${dir} first`);
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}
