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

/**
 * Where TLS files are, never their contents (certificates and keys stay
 * out of workflow histories like passwords do): PEM files.
 */
export interface TlsFiles {
  /** The CA that signed the servers' certificates. */
  caFile: string;
  /** A client certificate and its key, for accounts that REQUIRE X509. */
  certFile?: string;
  keyFile?: string;
}

/** The CA and client certificate as the option lines both families' command-line clients read. */
export function tlsFileOptions(files: TlsFiles): string[] {
  return [`ssl-ca=${files.caFile}`, ...(files.certFile ? [`ssl-cert=${files.certFile}`] : []), ...(files.keyFile ? [`ssl-key=${files.keyFile}`] : [])];
}

/**
 * TLS for every connection gtidflow makes: its files are read by the
 * worker. `replication`, when set, makes replicas connect to their source
 * with TLS too; its files are paths on the database hosts.
 */
export interface TlsRef extends TlsFiles {
  replication?: TlsFiles;
}

/** The PEM contents mysql2's `ssl` takes, read now: files may be rotated between connections. */
export function resolveTls(ref: TlsFiles): { ca: string; cert?: string; key?: string } {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new CredentialsError(`cannot read the TLS ${what} file: ${(err as NodeJS.ErrnoException).code ?? 'error'} ${file}`);
    }
  };
  return {
    ca: read(ref.caFile, 'CA'),
    ...(ref.certFile && { cert: read(ref.certFile, 'certificate') }),
    ...(ref.keyFile && { key: read(ref.keyFile, 'key') }),
  };
}
