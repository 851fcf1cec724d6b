import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit, watchMayRun, watchRunsDuring, type Admission, type Pending } from '../../workflows/logic/admission';
import type { OperationKind } from '../../workflows/model';

const KINDS: OperationKind[] = ['bootstrap', 'switchover', 'failover', 'health', 'reconfigure', 'rejoin', 'addServer', 'removeServer'];
/** Operations other than failover and health rounds: one at a time, refused while another runs. */
const OTHERS: OperationKind[] = ['bootstrap', 'switchover', 'reconfigure', 'rejoin', 'addServer', 'removeServer'];

const op = (kind: OperationKind, id = 7): Pending => ({ kind, id });
type Case = [request: OperationKind, running: Pending | undefined, queued: Pending[], expected: Admission];
const BUSY = (o: Pending): Admission => ({ ok: false, reason: `cluster c is busy with ${o.kind} #${o.id}; try again when it ends` });
const RUN = (preempt: boolean, first = false): Admission => ({ ok: true, preempt, first });

/** [request, running, queued, expected]: every pair of request and running operation, and the queued cases that matter. */
const cases: Case[] = [
  // Idle: anything runs; a failover goes to the front of the queue.
  ...OTHERS.map((k): Case => [k, undefined, [], RUN(false)]),
  ['failover', undefined, [], RUN(false, true)],
  ['health', undefined, [], RUN(false)],
  // A failover preempts every other operation (safety rule 8), and never runs twice.
  ...[...OTHERS, 'health' as const].map((k): Case => ['failover', op(k), [], RUN(true, true)]),
  ['failover', op('failover'), [], BUSY(op('failover'))],
  ['failover', op('addServer'), [op('failover', 8)], BUSY(op('failover', 8))],
  ['failover', undefined, [op('failover', 8)], BUSY(op('failover', 8))],
  ['failover', undefined, [op('rejoin', 8)], RUN(false, true)],
  // Any operation preempts a health round.
  ...OTHERS.map((k): Case => [k, op('health'), [], RUN(true)]),
  // Anything else waits for nobody: refused while another one runs or waits.
  ...OTHERS.flatMap((k) => [...OTHERS, 'failover' as const].map((r): Case => [k, op(r), [], BUSY(op(r))])),
  ['reconfigure', undefined, [op('rejoin', 8)], BUSY(op('rejoin', 8))],
  ['reconfigure', op('health'), [op('failover', 8)], BUSY(op('failover', 8))],
  ['reconfigure', undefined, [op('health', 8)], RUN(false)],
  // A health round only when the cluster is idle.
  ...KINDS.map((k): Case => ['health', op(k), [], BUSY(op(k))]),
  ['health', undefined, [op('rejoin', 8)], BUSY(op('rejoin', 8))],
];

describe('admit: what a new request does, given what runs and waits', () => {
  for (const [kind, running, queued, expected] of cases) {
    it(`${kind} while ${running?.kind ?? 'idle'}${queued.length ? `, ${queued.map((q) => q.kind).join(', ')} queued` : ''}`, () => {
      assert.deepEqual(admit(kind, running, queued, 'c'), expected);
    });
  }

  it('covers every pair of request and running operation', () => {
    for (const kind of KINDS) for (const running of KINDS) {
      assert.ok(cases.some(([k, r, q]) => k === kind && r?.kind === running && q.length === 0), `${kind} while ${running}`);
    }
  });
});

describe('the watch (safety rule 8: detection never sleeps)', () => {
  it('keeps running during every operation but a failover or a bootstrap', () => {
    assert.deepEqual(KINDS.filter(watchRunsDuring), ['switchover', 'health', 'reconfigure', 'rejoin', 'addServer', 'removeServer']);
  });

  it('pauses while a failover or bootstrap runs or waits to run', () => {
    assert.equal(watchMayRun(undefined, []), true);
    assert.equal(watchMayRun(op('addServer'), []), true);
    assert.equal(watchMayRun(op('health'), [op('rejoin')]), true);
    assert.equal(watchMayRun(op('addServer'), [op('failover')]), false);
    assert.equal(watchMayRun(op('switchover'), []), true);
    assert.equal(watchMayRun(undefined, [op('switchover')]), true);
    assert.equal(watchMayRun(op('failover'), []), false);
    assert.equal(watchMayRun(op('bootstrap'), []), false);
  });
});

describe('a shard cut-over holds the cluster', () => {
  const holder = 'shard move shards/move/shop/1';
  it('refuses every operation but a failover, naming the holder', () => {
    for (const kind of [...OTHERS, 'health' as const]) {
      assert.deepEqual(admit(kind, undefined, [], 'c', holder), { ok: false, reason: `cluster c is held by ${holder} for a few seconds; try again when it ends` });
    }
  });
  it('lets a failover through, preempting what runs', () => {
    assert.deepEqual(admit('failover', undefined, [], 'c', holder), RUN(false, true));
    assert.deepEqual(admit('failover', op('health'), [], 'c', holder), RUN(true, true));
  });
});
