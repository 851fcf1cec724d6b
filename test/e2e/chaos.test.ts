import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos } from '../chaos/run';

/**
 * The fault schedule in short (npm run chaos runs 50 rounds drawn at
 * random): three faults in a fixed order on a sandbox of its own, each
 * healed by operator commands and checked under a continuous writer.
 */
test('chaos, short: killed primary, failover during a switchover, worker killed during a switchover: nothing lost, no split brain, converged', { timeout: 900_000 }, async (t) => {
  const summary = await runChaos({
    rounds: 3, seed: 20261234, // with this seed the worker is killed during a switchover, for 2 s
    faults: ['kill-primary', 'failover-during-switchover', 'kill-worker'],
    log: (line) => t.diagnostic(line),
  });
  const problems = summary.rounds.flatMap((r) => r.problems.map((p) => `round ${r.round} ${r.fault}: ${p}`));
  assert.equal(summary.lost, 0, problems.join('\n'));
  assert.equal(summary.splitBrain, 0, problems.join('\n'));
  assert.equal(summary.converged, 3, problems.join('\n'));
  assert.deepEqual(problems, []);
  assert.ok(summary.failovers >= 2, `a failover in the first two rounds each (${summary.failovers})`);
});
