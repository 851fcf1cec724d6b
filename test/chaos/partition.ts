import * as path from 'node:path';
import { isRunning, startDetached, stopProcess } from '../../client/local/processes';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy';
import { CLI, pidOf, type ChaosSandbox } from './sandbox';

/**
 * A manager-only partition: a worker of our own reaches every server
 * through a TCP proxy we own (GTIDFLOW_CONNECT_VIA), replicas and HAProxy
 * keep the direct path. Cutting the primary's proxy cuts the manager alone.
 *
 * Our worker replaces the sandbox's: we kill that one and record ours in
 * the sandbox's state file, so a `sandbox up` run meanwhile (a heal) finds
 * a running worker and leaves it, partition and all. `end` restores the
 * path, stops our worker and clears the record: the next `sandbox up`
 * starts the sandbox's ordinary worker again.
 */
export class ManagerPartition {
  private proxies = new Map<string, TcpProxy>();
  private pid: number | undefined;

  constructor(private readonly sandbox: ChaosSandbox) {}

  private async ensureProxies(): Promise<void> {
    for (const address of this.sandbox.servers) {
      if (!this.proxies.has(address)) this.proxies.set(address, await startTcpProxy(Number(address.split(':')[1])));
    }
  }

  /** Swaps in the proxied worker and cuts its path to `primary`. */
  async begin(primary: string): Promise<void> {
    await this.ensureProxies();
    const via = [...this.proxies].map(([address, proxy]) => `${address}=127.0.0.1:${proxy.port}`).join(',');
    const sandboxWorker = pidOf(await this.sandbox.processes(), 'worker');
    await stopProcess(sandboxWorker, 'gtidflow.js', 1);
    this.pid = startDetached(process.execPath, [CLI, 'worker'], path.join(this.sandbox.home, 'worker-partitioned.log'), {
      ...process.env, ...this.sandbox.env, TEMPORAL_ADDRESS: this.sandbox.temporalAddress(), GTIDFLOW_CONNECT_VIA: via,
    }).pid;
    this.sandbox.recordWorker(this.pid);
    await this.sandbox.track();
    await this.proxies.get(primary)!.cut();
  }

  get workerPid(): number | undefined {
    return this.pid;
  }

  async end(): Promise<void> {
    for (const proxy of this.proxies.values()) await proxy.cut().then(() => proxy.restore()).catch(() => undefined);
    if (!this.pid) return;
    if (isRunning(this.pid, 'gtidflow.js')) await stopProcess(this.pid, 'gtidflow.js', 1);
    this.pid = undefined;
    this.sandbox.recordWorker(undefined);
  }

  async close(): Promise<void> {
    for (const proxy of this.proxies.values()) await proxy.cut();
    if (this.pid) await stopProcess(this.pid, 'gtidflow.js', 1);
  }
}
