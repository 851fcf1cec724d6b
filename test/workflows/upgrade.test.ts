import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { rootConnection } from '../../client/local/mariadb';
import { followOperation, requestOperation } from '../../client/operations';
import { atEnd } from '../harness/cleanup';
import { checkoutRelease, releases, type Release } from '../harness/release';
import { assertHealthy, conductorMemo, resetStack, startTestStack, writeRows } from '../harness/stack';

/**
 * An upgrade in the middle of an operation: the previous release's worker
 * runs the conductor and a switchover, which waits for its candidate to
 * catch up; that worker is killed and this release's worker takes over.
 * The switchover resumes on the new code where it stopped and finishes,
 * and the conductor it belongs to keeps working (a later switchover).
 * Every release CHANGELOG.md records upgrades to this code; from 0.1.0 it
 * is also the first step onto build ids (its workers had none).
 */
const HEAD = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

for (const release of releases().filter((r) => r.commit !== HEAD)) {
  test(`a ${release.version} worker is replaced mid-switchover: the switchover finishes on this code, the conductor keeps working`, () => upgradeFrom(release));
}

async function upgradeFrom(release: Release): Promise<void> {
  // A stack of its own: the worker of this code must not poll before the old one is gone.
  const stack = await startTestStack(3, `upgrade-${release.version.replace(/\W/g, '-')}`);
  stack.spec.policies = { failover: 'off', healthIntervalSeconds: 3600 };
  const old = stack.temporal.workerProcess({}, checkoutRelease(release));
  atEnd(async () => void old.kill('SIGKILL'));
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);

  const [first, candidate] = stack.cluster.addresses;
  // A row lock held on the candidate stalls its applier: the switchover waits for it, the old primary fenced.
  const lock = await rootConnection(stack.cluster.servers[1].port);
  lock.on('error', () => undefined);
  await lock.query('START TRANSACTION');
  await lock.query('SELECT * FROM app.locks WHERE k = 1 FOR UPDATE');
  await stack.cluster.sql(0, 'REPLACE INTO app.locks VALUES (1, 1)');
  const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'switchover', candidate });
  const steps: string[] = [];
  const switchover = followOperation(stack.temporal.client, started.workflowId, (step) => steps.push(step));
  for (const deadline = Date.now() + 30_000; !steps.some((s) => s.startsWith('waiting for')); await sleep(200)) {
    assert.ok(Date.now() < deadline, `release ${release.version}'s switchover did not reach its catch-up: ${steps.join(' / ')}`);
  }

  old.kill('SIGKILL');
  await stack.temporal.runWorker();
  await lock.query('ROLLBACK');
  await lock.end();
  const result = await switchover;
  assert.equal(result.primary, candidate, result.summary);
  assert.equal((await conductorMemo(stack)).viewId, 2);

  const back = await requestOperation(stack.temporal.client, stack.name, { kind: 'switchover', candidate: first });
  await followOperation(stack.temporal.client, back.workflowId, () => undefined);
  await writeRows(stack, [4]);
  await assertHealthy(stack, { viewId: 3, rows: [1, 2, 3, 4] });
}
