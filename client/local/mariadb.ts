import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { cacheDir } from './cache';
import { isRunning, startDetached, stopProcess } from './processes';
import { sleep } from './ports';

/** A MariaDB server this machine runs for the sandbox or a test. */
export interface LocalMariadb {
  port: number;
  serverId: number;
  dir: string;
  pid: number;
  socket: string;
}

const SERVER_BINARY = 'mariadbd';

/** The option setting a server's GTID domain; none for MariaDB's default, domain 0. */
export const gtidDomainOption = (gtidDomainId?: number): string[] =>
  gtidDomainId ? [`--gtid-domain-id=${gtidDomainId}`] : [];

/**
 * The options every local server runs with: safe GTID replication
 * (DESIGN.md), small buffers so several fit on a test machine. A cluster
 * beside others on one machine runs its own GTID domain (`gtidDomainId`):
 * two clusters' transactions in one domain break gtid_strict_mode once
 * data flows between them.
 */
export function serverOptions(dir: string, port: number, serverId: number, gtidDomainId?: number): string[] {
  return [
    '--no-defaults',
    '--user=root',
    `--datadir=${path.join(dir, 'data')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socketPath(port)}`,
    `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
    `--log-error=${path.join(dir, 'error.log')}`,
    `--server-id=${serverId}`,
    ...gtidDomainOption(gtidDomainId),
    `--report-host=127.0.0.1`,
    `--report-port=${port}`,
    '--log-bin=binlog',
    '--relay-log=relay-bin',
    '--log-slave-updates=1',
    '--gtid-strict-mode=1',
    '--binlog-format=ROW',
    '--sync-binlog=1',
    '--innodb-flush-log-at-trx-commit=1',
    '--read-only=1',
    // Crash recovery of a killed AFTER_SYNC primary would commit binlogged
    // transactions no replica acknowledged (it comes back diverged); as a
    // slave it truncates them. Every server starts read-only anyway: only
    // the conductor makes one writable.
    '--init-rpl-role=SLAVE',
    '--skip-name-resolve',
    '--rpl-semi-sync-master-wait-point=AFTER_SYNC',
    '--rpl-semi-sync-master-timeout=10000',
    '--rpl-semi-sync-slave-enabled=1',
    '--slave-net-timeout=10',
    '--innodb-buffer-pool-size=16M',
    '--innodb-log-file-size=16M',
    '--performance-schema=0',
    '--max-connections=200',
  ];
}

/** Unix sockets have a 108-byte path limit: keep them short and unique by port. */
export function socketPath(port: number): string {
  return `/tmp/gtidflow-${port}.sock`;
}

function serverVersion(): string {
  return execFileSync(SERVER_BINARY, ['--version'], { encoding: 'utf8' }).trim().split(/\s+/)[2] ?? 'unknown';
}

/**
 * An initialised, empty datadir, made once per MariaDB version and copied
 * for each server: mariadb-install-db is the slow part of a server's start.
 */
export function templateDatadir(): string {
  const template = path.join(cacheDir(), `mariadb-template-${serverVersion()}`);
  if (fs.existsSync(template)) return template;
  fs.mkdirSync(cacheDir(), { recursive: true });
  const building = fs.mkdtempSync(`${template}.building-`);
  execFileSync('mariadb-install-db', [
    '--no-defaults', '--user=root', '--auth-root-authentication-method=normal',
    `--datadir=${building}`, '--skip-test-db',
  ], { stdio: 'pipe' });
  try {
    fs.renameSync(building, template);
  } catch {
    fs.rmSync(building, { recursive: true, force: true }); // another process won the race
  }
  return template;
}

/**
 * Starts a server in `dir` (made from the template if new) and waits until
 * it answers; `extraArgs` follow the usual options (a test's TLS files).
 */
export async function startMariadb(dir: string, port: number, serverId: number, extraArgs: string[] = [], gtidDomainId?: number): Promise<LocalMariadb> {
  const datadir = path.join(dir, 'data');
  if (!fs.existsSync(datadir)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(templateDatadir(), datadir, { recursive: true });
  }
  const { pid } = startDetached(SERVER_BINARY, [...serverOptions(dir, port, serverId, gtidDomainId), ...extraArgs], path.join(dir, 'stdout.log'));
  const server = { port, serverId, dir, pid, socket: socketPath(port) };
  await waitUntilAnswering(server);
  return server;
}

async function waitUntilAnswering(server: LocalMariadb): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!isRunning(server.pid, SERVER_BINARY)) {
      throw new Error(`mariadbd on port ${server.port} exited; see ${path.join(server.dir, 'error.log')}`);
    }
    try {
      const conn = await rootConnection(server.port);
      await conn.end();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`mariadbd on port ${server.port} did not answer within 30 s`);
      await sleep(50);
    }
  }
}

/** root over the unix socket: only the local machine's operator can use it. */
export function rootConnection(port: number): Promise<mysql.Connection> {
  return mysql.createConnection({ socketPath: socketPath(port), user: 'root', multipleStatements: true });
}

/**
 * `mark`: what only this server's process has (its directory, in its
 * --datadir): a pid reused by another server is neither stopped nor
 * taken for this one (pid_max is 32768 here).
 */
export function stopMariadb(pid: number | undefined, mark = SERVER_BINARY): Promise<void> {
  return stopProcess(pid, mark, 30_000);
}

export function isMariadbRunning(pid: number | undefined, mark = SERVER_BINARY): boolean {
  return isRunning(pid, mark);
}
