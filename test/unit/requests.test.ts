import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planAdd, planChange, planOperation, planRejoin, planRemove, type RequestPlan } from '../../workflows/logic/requests';
import type { OperationRequest } from '../../workflows/api';
import type { ServerRecord } from '../../workflows/model';

const server = (address: string, status: ServerRecord['status']): ServerRecord => ({ address, status, penalty: 0, capability: 'read-write', databases: {} });
const state = { primary: 'p:1', servers: [server('p:1', 'PRIMARY'), server('r:1', 'SECONDARY'), server('f:1', 'FAULTY')] };
const refused = (reason: string): RequestPlan => ({ ok: false, reason });

describe('planOperation: a switchover or failover an operator asks for', () => {
  const cases: [string, OperationRequest, RequestPlan][] = [
    ['a switchover to a server of the cluster', { kind: 'switchover', candidate: 'r:1' }, { ok: true, params: { kind: 'switchover', candidate: 'r:1' } }],
    ['a failover accepting a named loss, meant for the recorded primary', { kind: 'failover', acceptLoss: '0-1-5' }, { ok: true, params: { kind: 'failover', acceptLoss: '0-1-5', primary: 'p:1' } }],
    ['an update-only failover without a candidate', { kind: 'failover', updateOnly: true }, refused('an update-only failover needs --candidate: nothing is read from the servers')],
    ['a candidate that is not a server', { kind: 'failover', candidate: 'x:1' }, refused('x:1 is not a server of this cluster')],
    ['a FAULTY candidate', { kind: 'switchover', candidate: 'f:1' }, refused('f:1: cannot change FAULTY to PRIMARY by promote: FAULTY can only become SPARE')],
    ['--accept-loss with --update-only', { kind: 'failover', acceptLoss: '0-1-5', updateOnly: true }, refused('--accept-loss goes with a failover that reads the servers')],
    ['--accept-loss with a switchover', { kind: 'switchover', acceptLoss: '0-1-5' } as OperationRequest, refused('--accept-loss goes with a failover that reads the servers')],
    ['an unknown kind', { kind: 'rejoin' } as unknown as OperationRequest, refused('unknown operation "rejoin": switchover or failover')],
  ];
  for (const [name, request, expected] of cases) it(name, () => assert.deepEqual(planOperation(state, request), expected));
});

describe('planChange: a status, penalty or capability change', () => {
  it('leaving FAULTY is a rejoin ending in the status asked for (safety rule 5)', () => {
    assert.deepEqual(planChange(state, { address: 'f:1', status: 'SPARE' }), { ok: true, params: { kind: 'rejoin', target: 'f:1', status: 'SPARE' } });
  });
  it('anything else is a reconfigure of the servers as the change leaves them, with a summary', () => {
    const plan = planChange(state, { address: 'r:1', penalty: 3, updateOnly: true });
    assert.ok(plan.ok && plan.params.kind === 'reconfigure');
    assert.equal(plan.params.summary, 'r:1: write penalty 3 (update-only)');
    assert.equal(plan.params.changed.find((s) => s.address === 'r:1')?.penalty, 3);
    assert.equal(plan.params.updateOnly, true);
  });
  it('a database capability names the database', () => {
    const plan = planChange(state, { address: 'r:1', capability: 'read-only', database: 'shop' });
    assert.ok(plan.ok && plan.params.kind === 'reconfigure' && plan.params.summary === 'r:1: database shop read-only');
  });
  it('refused as the matrix says', () => {
    assert.deepEqual(planChange(state, { address: 'x:1', status: 'SPARE' }), refused('x:1 is not a server of this cluster'));
  });
});

describe('planRejoin, planAdd, planRemove', () => {
  const cases: [string, () => RequestPlan, RequestPlan][] = [
    ['rejoin of a FAULTY server', () => planRejoin(state, { address: 'f:1', reprovision: true }), { ok: true, params: { kind: 'rejoin', target: 'f:1', reprovision: true, updateOnly: undefined } }],
    ['rejoin of a server not FAULTY', () => planRejoin(state, { address: 'r:1' }), refused('r:1 is SECONDARY, not FAULTY: nothing to rejoin')],
    ['rejoin of a stranger', () => planRejoin(state, { address: 'x:1' }), refused('x:1 is not a server of this cluster')],
    ['add a new server', () => planAdd(state, { address: 'n:1', provision: 'dump', status: 'SPARE', penalty: 2 }),
      { ok: true, params: { kind: 'addServer', target: 'n:1', updateOnly: undefined, join: { provision: 'dump', status: 'SPARE', penalty: 2 } } }],
    ['add a bad address', () => planAdd(state, { address: 'n', provision: 'none', status: 'SPARE', penalty: 0 }), refused('invalid server address "n": expected host:port')],
    ['add a member again', () => planAdd(state, { address: 'r:1', provision: 'none', status: 'SPARE', penalty: 0 }), refused('r:1 is already a server of this cluster')],
    ['add as PRIMARY', () => planAdd(state, { address: 'n:1', provision: 'none', status: 'PRIMARY' as 'SPARE', penalty: 0 }), refused('a new server is SECONDARY or SPARE, not PRIMARY')],
    ['add with a negative penalty', () => planAdd(state, { address: 'n:1', provision: 'none', status: 'SPARE', penalty: -1 }), refused('write penalty must be a whole number ≥ 0, not -1')],
    ['remove a replica', () => planRemove(state, { address: 'r:1' }), { ok: true, params: { kind: 'removeServer', target: 'r:1', updateOnly: undefined } }],
    ['remove the primary', () => planRemove(state, { address: 'p:1' }), refused('p:1 is the primary: promote another server first')],
    ['remove a stranger', () => planRemove(state, { address: 'x:1' }), refused('x:1 is not a server of this cluster')],
  ];
  for (const [name, plan, expected] of cases) it(name, () => assert.deepEqual(plan(), expected));
});
