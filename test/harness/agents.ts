import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AgentConfig } from '../../agent/config';
import { ensureAgentKey, startLocalAgent, writeLocalAgentConfig } from '../../client/local/agent';
import { freePort, sleep } from '../../client/local/ports';
import { atEnd, track, untrack } from './cleanup';
import type { TestCluster } from './cluster';

/** A host agent (`gtidflow agent`, its own process) beside each server of a test cluster, as the sandbox runs them. */
export interface TestAgents {
  /** Starts the agent of server i (again), with `more` config; resolves once it polls its task queue. */
  start(i: number, more?: Partial<AgentConfig>): Promise<void>;
  /** kill -9 of the agent of server i. */
  kill(i: number): void;
  /** The agent's config file: where its workDir, datadir and the rest are. */
  configFile(i: number): string;
}

export function testAgents(cluster: TestCluster, temporalAddress: string): TestAgents {
  const keyFile = ensureAgentKey(path.join(cluster.dir, 'agent.key'));
  const pids = new Map<number, number>();
  const ports = new Map<number, number>();
  const agents: TestAgents = {
    async start(i, more = {}) {
      agents.kill(i);
      if (!ports.has(i)) ports.set(i, await freePort());
      const config = writeLocalAgentConfig(cluster.servers[i], keyFile, ports.get(i)!, [], more);
      const log = path.join(cluster.servers[i].dir, 'agent.log');
      const size = fs.existsSync(log) ? fs.statSync(log).size : 0;
      const { pid } = startLocalAgent(config, log, { ...process.env, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: 'default' });
      pids.set(i, pid);
      track(pid);
      for (let waited = 0; !fs.readFileSync(log, 'utf8').slice(size).includes(' polling '); waited += 50) {
        if (waited > 20_000) throw new Error(`the agent of ${cluster.addresses[i]} did not start: ${fs.readFileSync(log, 'utf8').slice(size)}`);
        await sleep(50);
      }
    },
    kill(i) {
      const pid = pids.get(i);
      if (pid === undefined) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
      untrack(pid);
      pids.delete(i);
    },
    configFile: (i) => path.join(cluster.servers[i].dir, 'agent.json'),
  };
  atEnd(async () => [...pids.keys()].forEach((i) => agents.kill(i)));
  return agents;
}
