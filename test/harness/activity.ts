import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { readPassword } from '../../client/local/secrets';
import type { TestCluster } from './cluster';

/**
 * Runs an activity as the worker would and checks that no password of the
 * cluster appears in its arguments, its result or its error (safety rule 7).
 */
export function activityRunner(cluster: TestCluster) {
  const secrets = Object.values(cluster.accounts).map(readPassword);
  const assertClean = (what: string, text: string) => {
    for (const secret of secrets) assert.ok(!text.includes(secret), `a password appears in the ${what}: ${text}`);
  };
  return async function run<A, R>(activity: (args: A) => Promise<R>, args: A): Promise<R> {
    assertClean(`arguments of ${activity.name}`, JSON.stringify(args));
    try {
      const result = await activity(args);
      assertClean(`result of ${activity.name}`, JSON.stringify(result));
      return result;
    } catch (err) {
      const failure = err as ApplicationFailure;
      assertClean(`error of ${activity.name}`, `${failure.message} ${failure.type ?? ''} ${JSON.stringify(failure.details ?? [])} ${failure.stack ?? ''}`);
      throw err;
    }
  };
}
