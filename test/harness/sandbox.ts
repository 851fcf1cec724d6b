import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after } from 'node:test';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
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
