import { ApplicationFailure } from '@temporalio/common';

/**
 * Server errors become Temporal failures typed by what retrying can do:
 * wrong credentials or an unknown host will not heal by themselves.
 */
const NON_RETRYABLE: Record<string, string> = {
  ER_ACCESS_DENIED_ERROR: 'AccessDenied',
  ER_DBACCESS_DENIED_ERROR: 'AccessDenied',
  ER_SPECIFIC_ACCESS_DENIED_ERROR: 'AccessDenied',
  ER_TABLEACCESS_DENIED_ERROR: 'AccessDenied',
  ENOTFOUND: 'UnknownHost',
  ER_PARSE_ERROR: 'BadStatement',
  CredentialsError: 'Credentials',
};

const RETRYABLE: Record<string, string> = {
  ECONNREFUSED: 'Unreachable',
  ETIMEDOUT: 'Unreachable',
  EHOSTUNREACH: 'Unreachable',
  ECONNRESET: 'ConnectionLost',
  PROTOCOL_CONNECTION_LOST: 'ConnectionLost',
  PROTOCOL_SEQUENCE_TIMEOUT: 'QueryTimeout',
  EAI_AGAIN: 'Unreachable',
};

export function classifyServerError(err: unknown, address: string, secrets: string[] = []): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err as { code?: string; name?: string; message?: string; errno?: number };
  const code = e.code ?? e.name ?? 'Error';
  // Only the message travels on: mysql2 errors also carry the statement text, parameters included.
  const message = secrets.reduce((m, secret) => (secret ? m.split(secret).join('***') : m), `${address}: ${e.message ?? String(err)}`);
  if (NON_RETRYABLE[code]) return ApplicationFailure.nonRetryable(message, NON_RETRYABLE[code], { code });
  return ApplicationFailure.retryable(message, RETRYABLE[code] ?? 'ServerError', { code, errno: e.errno });
}
