import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import '../harness/temporal'; // the SDK's runtime, quiet

/**
 * Every release's recorded histories (test/replay/record.ts) replay on the
 * current code: a conductor or an operation that a worker of that release
 * left running resumes on this one without a non-determinism error.
 */
const HISTORIES = path.join(__dirname, '..', 'replay', 'histories');

function histories(version: string) {
  const dir = path.join(HISTORIES, version);
  return fs.readdirSync(dir).map((file) => ({ workflowId: file.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))) }));
}

/** What failed to replay, one line each. */
async function replayFailures(workflowsPath: string, version: string, only?: (workflowId: string) => boolean): Promise<string[]> {
  const failures: string[] = [];
  const chosen = histories(version).filter((h) => !only || only(h.workflowId));
  for await (const result of Worker.runReplayHistories({ workflowsPath }, chosen)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message.split('\n')[0]}`);
  }
  return failures;
}

for (const version of fs.readdirSync(HISTORIES).sort()) {
  test(`the histories of ${version} replay on this code`, async () => {
    assert.deepEqual(await replayFailures(require.resolve('../../workflows'), version), []);
  });
}

test('a deliberately incompatible conductor is caught', async () => {
  const version = fs.readdirSync(HISTORIES).sort().at(-1)!;
  const failures = await replayFailures(require.resolve('../replay/incompatible'), version, (id) => id === 'cluster_itest');
  assert.equal(failures.length, 1);
  assert.match(failures[0], /^cluster_itest: .*[Nn]ondeterminism/);
});
