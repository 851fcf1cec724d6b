import * as fs from 'node:fs';
import { isRunning, startDetached, stopProcess } from './processes';
import { freePort, sleep } from './ports';
import { haproxyCommand } from '../../activities/router/haproxy-socket';
import { READER_CHECK } from '../../activities/router/reader-check';

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
 * HAProxy in TCP mode: the writer backend has exactly the servers gtidflow
 * enables (no health check: which server is the writer is gtidflow's
 * decision, never the proxy's), the reader backend round-robins over
 * replicas with a TCP check so a dead replica drops out by itself. One
 * pair per cluster.
 */
export function haproxyConfig(layout: HaproxyLayout): string {
  const line = (s: HaproxyBackendServer, check: string) =>
    `  server ${s.name} 127.0.0.1:${s.port}${check}${s.enabled ? '' : ' disabled'}`;
  const clusters: HaproxyCluster[] = [{ ...layout, writerName: 'writer', readerName: 'reader' }, ...(layout.more ?? [])];
  return [
    'global',
    `  stats socket ${layout.adminSocket} mode 600 level admin`,
    '  maxconn 2000',
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    '  timeout client 1h',
    '  timeout server 1h',
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
 * Starts HAProxy and resolves once it serves: its admin socket answers with
 * its pid, which it opens only after binding every frontend. Ports chosen
 * free may be taken before HAProxy binds them (the Temporal dev server's
 * own random ports, a parallel test file): HAProxy then exits, and is
 * started again on other free ports, three tries in all. The ports it
 * listens on are returned.
 */
export async function startHaproxy(layout: HaproxyLayout, configFile: string, logFile: string):
  Promise<{ pid: number; writerPort: number; readerPort: number; more: { writerPort: number; readerPort: number }[] }> {
  const ports = (c: HaproxyEndpoints) => ({ writerPort: c.writerPort, readerPort: c.readerPort });
  for (let attempt = 1; ; attempt++) {
    fs.writeFileSync(configFile, haproxyConfig(layout));
    fs.rmSync(layout.adminSocket, { force: true });
    const { pid } = startDetached(BINARY, ['-f', configFile], logFile);
    if (await serving(pid, layout.adminSocket)) return { pid, ...ports(layout), more: (layout.more ?? []).map(ports) };
    await stopHaproxy(pid);
    if (attempt === 3) {
      const all = [layout, ...(layout.more ?? [])].flatMap((c) => [c.writerPort, c.readerPort]);
      throw new Error(`haproxy did not start on 127.0.0.1:${all.slice(0, -1).join(', :')} and :${all.at(-1)}; see ${logFile}`);
    }
    const fresh = async () => ({ writerPort: await freePort(), readerPort: await freePort() });
    layout = { ...layout, ...(await fresh()), ...(layout.more && { more: await Promise.all(layout.more.map(async (c) => ({ ...c, ...(await fresh()) }))) }) };
  }
}

/** Whether the HAProxy of this pid answers on its admin socket within 10 s; false as soon as it exits. */
async function serving(pid: number, adminSocket: string): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && isRunning(pid, BINARY)) {
    const info = await haproxyCommand(adminSocket, 'show info').catch(() => '');
    if (new RegExp(`^Pid: ${pid}$`, 'm').test(info)) return true;
    await sleep(50);
  }
  return false;
}

/** `mark`: what only this proxy's process has (its config file): a pid reused by another is not stopped. */
export function stopHaproxy(pid: number | undefined, mark = BINARY): Promise<void> {
  return stopProcess(pid, mark, 5_000);
}

export function isHaproxyRunning(pid: number | undefined, mark = BINARY): boolean {
  return isRunning(pid, mark);
}
