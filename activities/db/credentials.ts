import * as fs from 'node:fs';

/**
 * Where a password is, never the password itself: workflow inputs, results
 * and histories carry only this reference (DESIGN.md, safety rule 7).
 */
export interface CredentialsRef {
  user: string;
  /** A file holding the password (trailing newline ignored). */
  passwordFile?: string;
  /** An environment variable of the worker holding the password. */
  passwordEnv?: string;
}

export interface Credentials {
  user: string;
  password: string;
}

export function resolveCredentials(ref: CredentialsRef): Credentials {
  if (ref.passwordFile) {
    try {
      return { user: ref.user, password: fs.readFileSync(ref.passwordFile, 'utf8').replace(/\r?\n$/, '') };
    } catch (err) {
      throw new CredentialsError(`cannot read the password file of user ${ref.user}: ${(err as NodeJS.ErrnoException).code ?? 'error'} ${ref.passwordFile}`);
    }
  }
  if (ref.passwordEnv) {
    const password = process.env[ref.passwordEnv];
    if (password === undefined) throw new CredentialsError(`the worker has no environment variable ${ref.passwordEnv} (password of user ${ref.user})`);
    return { user: ref.user, password };
  }
  throw new CredentialsError(`no password source for user ${ref.user}: give passwordFile or passwordEnv`);
}

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}
