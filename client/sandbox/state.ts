import * as fs from 'node:fs';
import * as path from 'node:path';

/** What the sandbox started and where: ports are kept across down/up so data and endpoints stay. */
export interface SandboxState {
  cluster: string;
  temporal: { port: number; uiPort: number; pid?: number } | { external: string };
  /** Each server and the host agent beside it (`agent` absent in a state from before agents: the next `up` adds it). */
  servers: { port: number; pid?: number; agent?: { transferPort: number; pid?: number } }[];
  haproxy: { writerPort: number; readerPort: number; pid?: number };
  worker: { pid?: number };
}

export function stateDir(): string {
  return path.resolve(process.env.GTIDFLOW_HOME ?? path.join(__dirname, '..', '..', '.gtidflow'));
}

const stateFile = () => path.join(stateDir(), 'sandbox.json');

export function loadState(): SandboxState | undefined {
  if (!fs.existsSync(stateFile())) return undefined;
  return JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as SandboxState;
}

export function saveState(state: SandboxState): void {
  fs.mkdirSync(stateDir(), { recursive: true });
  fs.writeFileSync(stateFile(), JSON.stringify(state, null, 2) + '\n');
}

export const paths = {
  servers: () => path.join(stateDir(), 'servers'),
  /** The key the sandbox's agents share (agent/token.ts). */
  agentKey: () => path.join(stateDir(), 'agent.key'),
  secrets: () => path.join(stateDir(), 'secrets'),
  clusters: () => path.join(stateDir(), 'clusters'),
  temporalDb: () => path.join(stateDir(), 'temporal.sqlite'),
  haproxyConfig: () => path.join(stateDir(), 'haproxy.cfg'),
  haproxySocket: () => path.join(stateDir(), 'haproxy.sock'),
  log: (name: string) => path.join(stateDir(), `${name}.log`),
};
