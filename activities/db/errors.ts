import * as util from 'node:util';
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

/** What needs an operator's TLS set-up fixed, and how its message begins. */
const TLS_FAILURES: Record<string, string> = {
  HANDSHAKE_SSL_ERROR: 'TLS handshake failed: ',
  HANDSHAKE_NO_SSL_SUPPORT: 'TLS: ',
  ER_SECURE_TRANSPORT_REQUIRED: 'TLS: ',
};

/** What Node says when the peer closes the socket before the TLS handshake ends. */
const RESET_DURING_HANDSHAKE = ['Client network socket disconnected before secure TLS connection was established', 'socket hang up'];

/**
 * mysql2 reports any failure of the TLS handshake as HANDSHAKE_SSL_ERROR,
 * over Node's code. A connection lost meanwhile (a system error keeps its
 * errno and syscall; Node's reset its message) is told apart: it may heal,
 * and a host that closed the connection is a fact detection reads.
 */
function codeOf(e: { code?: string; name?: string; message?: string; errno?: number; syscall?: string }): string {
  if (e.code !== 'HANDSHAKE_SSL_ERROR') return e.code ?? e.name ?? 'Error';
  if (e.syscall && typeof e.errno === 'number') return util.getSystemErrorName(e.errno);
  return RESET_DURING_HANDSHAKE.includes(e.message ?? '') ? 'ECONNRESET' : e.code;
}

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
  const e = err as { code?: string; name?: string; message?: string; errno?: number; syscall?: string };
  const code = codeOf(e);
  // Only the message travels on: mysql2 errors also carry the statement text, parameters included.
  const message = secrets.reduce((m, secret) => (secret ? m.split(secret).join('***') : m), `${address}: ${TLS_FAILURES[code] ?? ''}${e.message ?? String(err)}`);
  if (TLS_FAILURES[code]) return ApplicationFailure.nonRetryable(message, 'Tls', { code });
  if (NON_RETRYABLE[code]) return ApplicationFailure.nonRetryable(message, NON_RETRYABLE[code], { code });
  return ApplicationFailure.retryable(message, RETRYABLE[code] ?? 'ServerError', { code, errno: e.errno });
}

/** The server's or the socket's code of an error a Db raised (classifyServerError keeps it in the failure's details). */
export function serverErrorCode(err: unknown): string | undefined {
  return ((err as { details?: { code?: string }[] }).details ?? [])[0]?.code;
}
