import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QuorumVerdict, ReplicaView, judgePrimary } from '../../workflows/logic/quorum';

const SILENCE_MS = 1_500;

/** lost-io: IO thread stopped; lost-silent: connected, but nothing received (no event, no heartbeat) past the silence; ok / ok-at-silence: still hears the primary; down: unreachable. */
type Shape = 'lost-io' | 'lost-silent' | 'ok' | 'ok-at-silence' | 'down';

function replica(shape: Shape, index: number): ReplicaView {
  const address = `r${index + 1}:3306`;
  switch (shape) {
    case 'lost-io':
      return { address, reachable: true, ioRunning: false, silentForMs: 100 };
    case 'lost-silent':
      return { address, reachable: true, ioRunning: true, silentForMs: SILENCE_MS + 1 };
    case 'ok':
      return { address, reachable: true, ioRunning: true };
    case 'ok-at-silence':
      return { address, reachable: true, ioRunning: true, silentForMs: SILENCE_MS };
    case 'down':
      // an unreachable replica is no witness, whatever it last reported
      return { address, reachable: false, ioRunning: false, silentForMs: 999_999 };
  }
}

const cases: Array<[probeFailures: number, replicas: Shape[], verdict: QuorumVerdict, reason: string]> = [
  [0, ['lost-io', 'lost-io'], 'alive', 'the primary answered the last probe'],
  [1, ['lost-io', 'lost-io'], 'suspect', 'the primary failed 1 probe(s) in a row (threshold 3)'],
  [2, [], 'suspect', 'the primary failed 2 probe(s) in a row (threshold 3)'],
  [3, ['lost-io', 'lost-silent', 'ok'], 'dead', 'the primary failed 3 probe(s) in a row (threshold 3) and 2 of 3 reachable replica(s) lost it'],
  [5, ['lost-io'], 'dead', 'the primary failed 5 probe(s) in a row (threshold 3) and 1 of 1 reachable replica(s) lost it'],
  [3, ['lost-io', 'ok'], 'unreachable-from-manager', 'the primary failed 3 probe(s) in a row (threshold 3) but only 1 of 2 reachable replica(s) lost it: the manager may be cut off'],
  [3, ['ok', 'ok', 'ok-at-silence'], 'unreachable-from-manager', 'the primary failed 3 probe(s) in a row (threshold 3) but only 0 of 3 reachable replica(s) lost it: the manager may be cut off'],
  [3, ['lost-io', 'down', 'down', 'ok'], 'unreachable-from-manager', 'the primary failed 3 probe(s) in a row (threshold 3) but only 1 of 2 reachable replica(s) lost it: the manager may be cut off'],
  [3, ['lost-silent', 'down', 'down'], 'dead', 'the primary failed 3 probe(s) in a row (threshold 3) and 1 of 1 reachable replica(s) lost it'],
  [3, ['down', 'down'], 'dead-no-witness', 'the primary failed 3 probe(s) in a row (threshold 3) and no replica is reachable to confirm it'],
  [3, [], 'dead-no-witness', 'the primary failed 3 probe(s) in a row (threshold 3) and no replica is reachable to confirm it'],
];

describe('judgePrimary', () => {
  for (const [probeFailures, shapes, verdict, reason] of cases) {
    it(`${probeFailures} failures, replicas [${shapes.join(', ')}] -> ${verdict}`, () => {
      const result = judgePrimary({ probeFailures, threshold: 3, replicas: shapes.map(replica), silenceMs: SILENCE_MS });
      assert.deepEqual(result, { verdict, reason });
    });
  }
});

describe('judgePrimary, the primary\'s host refusing the connection (its process is gone)', () => {
  const refusedCases: Array<[probeFailures: number, replicas: Shape[], verdict: QuorumVerdict, reason: string]> = [
    [1, ['lost-io', 'lost-io'], 'dead', 'the primary\'s host refused the connection (its process is gone) and 2 of 2 reachable replica(s) lost it'],
    [1, ['lost-io', 'down', 'ok', 'lost-io'], 'dead', 'the primary\'s host refused the connection (its process is gone) and 2 of 3 reachable replica(s) lost it'],
    // The replicas have not seen the close yet, or the manager alone is refused: ask again, no warning before the threshold.
    [1, ['lost-io', 'ok'], 'suspect', 'the primary\'s host refused the connection (its process is gone); so far 1 of 2 reachable replica(s) lost it'],
    [2, ['down', 'down'], 'suspect', 'the primary\'s host refused the connection (its process is gone); so far 0 of 0 reachable replica(s) lost it'],
    // At the threshold the ordinary rule decides.
    [3, ['lost-io', 'ok'], 'unreachable-from-manager', 'the primary failed 3 probe(s) in a row (threshold 3) but only 1 of 2 reachable replica(s) lost it: the manager may be cut off'],
  ];
  for (const [probeFailures, shapes, verdict, reason] of refusedCases) {
    it(`${probeFailures} refused, replicas [${shapes.join(', ')}] -> ${verdict}`, () => {
      const result = judgePrimary({ probeFailures, threshold: 3, refused: true, replicas: shapes.map(replica), silenceMs: SILENCE_MS });
      assert.deepEqual(result, { verdict, reason });
    });
  }
});
