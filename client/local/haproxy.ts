import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRunning, startDetached, stopProcess } from './processes';
import { freePort, sleep } from './ports';
import { servingWorker } from '../../activities/router/haproxy-socket';
import { READER_CHECK } from '../../activities/router/reader-check';
import { serverStateFile } from '../../activities/router/shard-endpoint';

const BINARY = 'haproxy';

export interface HaproxyBackendServer {
  name: string;
  port: number;
  enabled: boolean;
}

/** One cluster's endpoints: every server is in both backends; `enabled` says which start in rotation. */
export interface HaproxyEndpoints {
  writerPort: number;
  readerPort: number;
  writer: HaproxyBackendServer[];
  reader: HaproxyBackendServer[];
}

/** Another cluster's endpoints on the same HAProxy, its frontends and backends named as given. */
export interface HaproxyCluster extends HaproxyEndpoints {
  writerName: string;
  readerName: string;
}

/** The first cluster's frontends and backends are `writer` and `reader`; `more` clusters' are their own. */
export interface HaproxyLayout extends HaproxyEndpoints {
  adminSocket: string;
  more?: HaproxyCluster[];
}

/**
 * Beside a HAProxy's config file (`<name>.cfg`): its master CLI
 * (`<name>-master.sock`) and the directory of its frontends and backends
 * (`<name>.d`), which seamless reloads rewrite (ShardRouter's `owned`).
 */
export function haproxyFiles(configFile: string): { masterSocket: string; configDir: string } {
  const base = configFile.replace(/\.cfg$/, '');
  return { masterSocket: `${base}-master.sock`, configDir: `${base}.d` };
}

/** The file of the clusters' frontends and backends in the configuration directory; the shards' files sit beside it. */
const CLUSTERS_FILE = 'clusters.cfg';

/**
 * The global part: the admin socket, and what a reload needs to lose
 * nothing (shard-endpoint.ts reload): the servers' runtime states read back
 * from the file each reload dumps them to, and a bound on how long an old
 * worker may keep finishing its sessions.
 */
function globalConfig(adminSocket: string, configDir: string): string {
  return [
    'global',
    `  stats socket ${adminSocket} mode 600 level admin`,
    '  maxconn 2000',
    `  server-state-file ${serverStateFile(configDir)}`,
    '  hard-stop-after 5m',
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  load-server-state-from-file global',
    '',
  ].join('\n');
}

/**
 * HAProxy in TCP mode: the writer backend has exactly the servers gtidflow
 * enables (no health check: which server is the writer is gtidflow's
 * decision, never the proxy's), the reader backend round-robins over
 * replicas with a TCP check so a dead replica drops out by itself. One
 * pair per cluster.
 */
function clustersConfig(layout: HaproxyLayout): string {
  const line = (s: HaproxyBackendServer, check: string) =>
    `  server ${s.name} 127.0.0.1:${s.port}${check}${s.enabled ? '' : ' disabled'}`;
  const clusters: HaproxyCluster[] = [{ ...layout, writerName: 'writer', readerName: 'reader' }, ...(layout.more ?? [])];
  return [
    ...clusters.flatMap((c) => [
      `frontend ${c.writerName}`,
      `  bind 127.0.0.1:${c.writerPort}`,
      `  default_backend ${c.writerName}`,
      `backend ${c.writerName}`,
      ...c.writer.map((s) => line(s, '')),
      `frontend ${c.readerName}`,
      `  bind 127.0.0.1:${c.readerPort}`,
      `  default_backend ${c.readerName}`,
      `backend ${c.readerName}`,
      '  balance roundrobin',
      ...c.reader.map((s) => line(s, ` ${READER_CHECK}`)),
    ]),
    '',
  ].join('\n');
}

/**
 * Starts HAProxy in master-worker mode, so that it can reload seamlessly:
 * `-f <config file> -f <its directory>` (haproxyFiles), the clusters'
 * frontends and backends written there, files already there (the shards')
 * kept. Resolves once it serves: its worker answers on the admin socket,
 * which it opens only after binding every frontend. Ports chosen free may
 * be taken before HAProxy binds them (the Temporal dev server's own random
 * ports, a parallel test file): HAProxy then exits, and is started again
 * on other free ports, three tries in all. The master's pid (the same
 * across reloads) and the ports it listens on are returned.
 */
export async function startHaproxy(layout: HaproxyLayout, configFile: string, logFile: string):
  Promise<{ pid: number; writerPort: number; readerPort: number; more: { writerPort: number; readerPort: number }[] }> {
  const ports = (c: HaproxyEndpoints) => ({ writerPort: c.writerPort, readerPort: c.readerPort });
  const { masterSocket, configDir } = haproxyFiles(configFile);
  fs.mkdirSync(configDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    fs.writeFileSync(configFile, globalConfig(layout.adminSocket, configDir));
    fs.writeFileSync(path.join(configDir, CLUSTERS_FILE), clustersConfig(layout));
    // States a HAProxy that died had dumped would undo the layout's: this one starts as the layout says.
    for (const file of [serverStateFile(configDir), layout.adminSocket, masterSocket]) fs.rmSync(file, { force: true });
    const { pid } = startDetached(BINARY, ['-W', '-S', `${masterSocket},mode,600`, '-f', configFile, '-f', configDir], logFile);
    if (await serving(pid, masterSocket, layout.adminSocket)) return { pid, ...ports(layout), more: (layout.more ?? []).map(ports) };
    await stopHaproxy(pid);
    if (attempt === 3) {
      const all = [layout, ...(layout.more ?? [])].flatMap((c) => [c.writerPort, c.readerPort]);
      throw new Error(`haproxy did not start on 127.0.0.1:${all.slice(0, -1).join(', :')} and :${all.at(-1)}; see ${logFile}`);
    }
    const fresh = async () => ({ writerPort: await freePort(), readerPort: await freePort() });
    layout = { ...layout, ...(await fresh()), ...(layout.more && { more: await Promise.all(layout.more.map(async (c) => ({ ...c, ...(await fresh()) }))) }) };
  }
}

/** Whether the worker of the master of this pid answers on the admin socket within 10 s; false as soon as the master exits. */
async function serving(pid: number, masterSocket: string, adminSocket: string): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && isRunning(pid, BINARY)) {
    if ((await servingWorker(masterSocket, adminSocket).catch(() => null)) !== null) return true;
    await sleep(50);
  }
  return false;
}

/**
 * Stops the master, which stops its workers, old ones too, and waits for
 * the workers as well: one still exiting holds the listeners for a moment,
 * and a HAProxy started right after on the same ports would fail to bind.
 * `mark`: what only this proxy's process has (its config file): a pid
 * reused by another is not stopped.
 */
export async function stopHaproxy(pid: number | undefined, mark = BINARY): Promise<void> {
  const workers = pid && isRunning(pid, mark) ? childrenOf(pid) : [];
  await stopProcess(pid, mark, 5_000);
  for (const worker of workers) await stopProcess(worker, BINARY, 5_000);
}

/** The pids whose parent is `pid` (/proc/<pid>/stat: the field after the command's closing parenthesis and state). */
function childrenOf(pid: number): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

export function isHaproxyRunning(pid: number | undefined, mark = BINARY): boolean {
  return isRunning(pid, mark);
}
