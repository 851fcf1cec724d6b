import * as fs from 'node:fs';
import { isRunning, startDetached, stopProcess } from './processes';
import { waitForPort } from './ports';
import { READER_CHECK } from '../../activities/router/reader-check';

const BINARY = 'haproxy';

export interface HaproxyBackendServer {
  name: string;
  port: number;
  enabled: boolean;
}

export interface HaproxyLayout {
  adminSocket: string;
  writerPort: number;
  readerPort: number;
  /** Every server is in both backends; `enabled` says which start in rotation. */
  writer: HaproxyBackendServer[];
  reader: HaproxyBackendServer[];
}

/**
 * HAProxy in TCP mode: the writer backend has exactly the servers gtidflow
 * enables (no health check: which server is the writer is gtidflow's
 * decision, never the proxy's), the reader backend round-robins over
 * replicas with a TCP check so a dead replica drops out by itself.
 */
export function haproxyConfig(layout: HaproxyLayout): string {
  const line = (s: HaproxyBackendServer, check: string) =>
    `  server ${s.name} 127.0.0.1:${s.port}${check}${s.enabled ? '' : ' disabled'}`;
  return [
    'global',
    `  stats socket ${layout.adminSocket} mode 600 level admin`,
    '  maxconn 2000',
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend writer',
    `  bind 127.0.0.1:${layout.writerPort}`,
    '  default_backend writer',
    'backend writer',
    ...layout.writer.map((s) => line(s, '')),
    'frontend reader',
    `  bind 127.0.0.1:${layout.readerPort}`,
    '  default_backend reader',
    'backend reader',
    '  balance roundrobin',
    ...layout.reader.map((s) => line(s, ` ${READER_CHECK}`)),
    '',
  ].join('\n');
}

export async function startHaproxy(layout: HaproxyLayout, configFile: string, logFile: string): Promise<{ pid: number }> {
  fs.writeFileSync(configFile, haproxyConfig(layout));
  fs.rmSync(layout.adminSocket, { force: true });
  const started = startDetached(BINARY, ['-f', configFile], logFile);
  await waitForPort(layout.writerPort, 10_000, 'haproxy');
  return started;
}

export function stopHaproxy(pid: number | undefined): Promise<void> {
  return stopProcess(pid, BINARY, 5_000);
}

export function isHaproxyRunning(pid: number | undefined): boolean {
  return isRunning(pid, BINARY);
}
