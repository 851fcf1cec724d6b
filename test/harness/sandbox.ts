import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after } from 'node:test';
import * as mysql from 'mysql2/promise';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { ClusterStatus } from '../../client/status';
import { gtidflow } from './cli';
import { tempDir } from './tempdir';

export interface TestSandbox {
  /** The environment the CLI runs with: this sandbox's state directory, its own Temporal server. */
  env: NodeJS.ProcessEnv;
  /** `gtidflow sandbox up --json`, which must succeed. */
  up(): Promise<SandboxEndpoints>;
}

/** A sandbox of one test file's own, driven through the CLI as an operator does; down and removed when the file ends. */
export function testSandbox(name: string): TestSandbox {
  const home = tempDir(name);
  const env = { GTIDFLOW_HOME: home, TEMPORAL_ADDRESS: '' };
  after(async () => {
    await gtidflow(['sandbox', 'down'], env);
    fs.rmSync(home, { recursive: true, force: true });
  });
  return {
    env,
    async up() {
      const result = await gtidflow(['sandbox', 'up', '--json'], env);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as SandboxEndpoints;
    },
  };
}

/**
 * What a sandbox's tests and benches do through its CLI and endpoints: a
 * command that must succeed (its stdout), one's JSON, a cluster's primary
 * and server ports, an application session to a server or endpoint.
 */
export function sandboxCommands(env: NodeJS.ProcessEnv, endpoints: () => SandboxEndpoints) {
  const run = async (...args: string[]): Promise<string> => {
    const result = await gtidflow(args, env);
    assert.equal(result.code, 0, `gtidflow ${args.join(' ')}: ${result.stderr}\n${result.stdout}`);
    return result.stdout;
  };
  const json = async <T>(...args: string[]) => JSON.parse(await run(...args, '--json')) as T;
  return {
    run,
    json,
    primaryPort: async (cluster: string) => Number((await json<ClusterStatus>('status', cluster)).primary.split(':')[1]),
    serverPorts: (cluster: string) => endpoints().clusters.find((c) => c.name === cluster)!.servers.map((s) => s.port),
    appConnection(port: number, database?: string): Promise<mysql.Connection> {
      const { app } = endpoints().credentials;
      return mysql.createConnection({
        host: '127.0.0.1', port, user: app.user, password: fs.readFileSync(app.passwordFile, 'utf8').trim(), database, connectTimeout: 2000,
      });
    },
  };
}
