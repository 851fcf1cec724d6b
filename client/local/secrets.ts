import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CredentialsRef } from '../../activities/db/credentials';

/** A password kept in a 0600 file, made once: its path is what everything else carries. */
export function passwordFile(dir: string, user: string): CredentialsRef {
  const file = path.join(dir, `${user}.password`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, randomBytes(18).toString('base64url') + '\n', { mode: 0o600 });
  }
  return { user, passwordFile: file };
}

export function readPassword(ref: CredentialsRef): string {
  return fs.readFileSync(ref.passwordFile!, 'utf8').trim();
}
