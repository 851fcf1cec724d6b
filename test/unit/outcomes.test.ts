import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerReport, automaticFailoverBlocked, followUp, outdated, recordOutcome, respondToDeath } from '../../workflows/logic/outcomes';
import type { HealthReport } from '../../workflows/api';
import type { Finding } from '../../workflows/logic/health';
import { DEFAULT_POLICIES, type ClusterState, type OperationKind, type RunningOperation, type ServerRecord } from '../../workflows/model';

const server = (address: string, status: ServerRecord['status']): ServerRecord => ({ address, status, penalty: 0, capability: 'read-write', databases: {} });
const AT = '2026-12-01T10:00:00.000Z';
const servers = [server('p:1', 'PRIMARY'), server('r:1', 'SECONDARY'), server('r:2', 'SECONDARY')];
const base: ClusterState = {
  config: { name: 'c', access: { credentialsRef: 'x' } as never, router: null, hooks: { beforeFailover: [], afterFailover: [], afterSwitchover: [] }, policies: DEFAULT_POLICIES },
  servers, primary: 'p:1', viewId: 1, operationCount: 3, lastOperation: null, warnings: [], lastAutomaticFailoverAt: null,
  views: [{ viewId: 1, at: AT, primary: 'p:1', members: ['p:1', 'r:1', 'r:2'], joined: [], left: [], operation: 'registration' }],
  primaries: ['1'], health: null, operation: null,
};
const op = (kind: OperationKind): RunningOperation => ({ id: 3, kind, workflowId: `cluster:c/${kind}/3`, startedAt: AT });
const marked = servers.map((s) => (s.address === 'r:2' ? { ...s, status: 'FAULTY' as const } : s));

describe('recordOutcome: the recorded state after an operation', () => {
  it('a completed switchover: a new view, its primary, the origin learned, the last operation', () => {
    const next = recordOutcome({ ...base, operation: op('switchover') }, op('switchover'),
      { ok: true, result: { primary: 'r:1', servers, summary: 'r:1 is primary', primaryOrigin: '2' } }, AT);
    assert.equal(next.viewId, 2);
    assert.equal(next.primary, 'r:1');
    assert.equal(next.views.at(-1)?.operation, 'switchover #3');
    assert.deepEqual(next.primaries, ['1', '2']);
    assert.deepEqual(next.lastOperation, { id: 3, kind: 'switchover', outcome: 'completed', message: 'r:1 is primary', at: AT });
    assert.equal(next.operation, null);
  });

  it('a failed operation changes nothing but its line', () => {
    const next = recordOutcome({ ...base, operation: op('rejoin') }, op('rejoin'), { ok: false, message: 'diverged' }, AT);
    assert.deepEqual(next, { ...base, lastOperation: { id: 3, kind: 'rejoin', outcome: 'failed', message: 'diverged', at: AT } });
  });

  it('a bootstrap keeps view 1, unless it marked a server FAULTY', () => {
    const kept = recordOutcome({ ...base, bootstrapped: false }, op('bootstrap'), { ok: true, result: { primary: 'p:1', servers, summary: 'made' } }, AT);
    assert.equal(kept.viewId, 1);
    assert.equal(kept.bootstrapped, true);
    const changed = recordOutcome({ ...base, bootstrapped: false }, op('bootstrap'), { ok: true, result: { primary: 'p:1', servers: marked, summary: 'made' } }, AT);
    assert.equal(changed.viewId, 2);
    assert.deepEqual(changed.views.at(-1)?.left, ['r:2']);
  });

  it('a health round records its findings, a view only when it marked a server, learns unknown primaries, and no last operation', () => {
    const findings = [{ code: 'replica-unreachable' as const, server: 'r:2', text: 'does not answer', repair: 'mark-faulty' as const }];
    const next = recordOutcome({ ...base, primaries: null }, op('health'), { ok: true, result: { primary: 'p:1', servers: marked, summary: '', findings, learnedPrimaries: ['1', '5'] } }, AT);
    assert.equal(next.viewId, 2);
    assert.deepEqual(next.health, { at: AT, findings });
    assert.deepEqual(next.primaries, ['1', '5']);
    assert.equal(next.lastOperation, null);
    const failed = recordOutcome(base, op('health'), { ok: false, message: 'no worker' }, AT);
    assert.deepEqual(failed.health, { at: AT, findings: [{ code: 'health-round-failed', server: 'p:1', text: 'health round failed: no worker' }] });
    assert.equal(failed.viewId, 1);
  });
});

describe('answerReport: a health tick\'s report to the conductor', () => {
  const lagging: Finding = { code: 'replica-lagging', server: 'r:1', text: 'lags 40 s' };
  const unreachable: Finding = { code: 'replica-unreachable', server: 'r:2', text: 'does not answer', repair: 'mark-faulty' };
  const report = (outcome: HealthReport['outcome'], viewId = 1): HealthReport => ({ viewId, operationCount: base.operationCount, at: AT, durationMs: 12, outcome });
  const found = (...findings: Finding[]) => report({ ok: true, findings });
  it('findings nothing repairs are recorded as a round\'s, with no operation, view or last operation', () => {
    assert.deepEqual(answerReport(base, found(lagging)), { action: 'record', state: { ...base, health: { at: AT, findings: [lagging] } } });
    assert.deepEqual(answerReport(base, found()), { action: 'record', state: { ...base, health: { at: AT, findings: [] } } });
  });
  it('a finding to repair, or unknown recorded primaries, asks for a health round; nothing is recorded', () => {
    assert.deepEqual(answerReport(base, found(lagging, unreachable)), { action: 'round' });
    assert.deepEqual(answerReport({ ...base, primaries: null }, found()), { action: 'round' });
  });
  it('a report on another view, or read before an operation that changed no view, is ignored; servers that could not be judged are a failed round', () => {
    assert.deepEqual(answerReport({ ...base, viewId: 2 }, found()), { action: 'ignore' });
    assert.deepEqual(answerReport({ ...base, operationCount: base.operationCount + 1 }, found()), { action: 'ignore' });
    assert.deepEqual(answerReport(base, report({ ok: false, message: 'no server of c answers' })), {
      action: 'record', state: { ...base, health: { at: AT, findings: [{ code: 'health-round-failed', server: 'p:1', text: 'health round failed: no server of c answers' }] } },
    });
  });
});

describe('followUp: what a health round leads to', () => {
  const returning = { ...base, health: { at: AT, findings: [{ code: 'faulty-answering' as const, server: 'r:2', text: 'FAULTY but answering: rejoin it when it is safe (gtidflow rejoin)' }] } };
  const auto = (state: ClusterState) => ({ ...state, config: { ...base.config, policies: { ...DEFAULT_POLICIES, rejoin: 'auto' as const } } });
  it('a FAULTY server answering again rejoins when the policy is auto', () => {
    assert.deepEqual(followUp(auto(returning)), { kind: 'rejoin', target: 'r:2' });
  });
  it('and is only reported when it is notify', () => assert.equal(followUp(returning), undefined));
  it('decides on the code, not the text', () => {
    const reworded = { ...returning, health: { at: AT, findings: [{ ...returning.health.findings[0], text: 'answers again' }] } };
    assert.deepEqual(followUp(auto(reworded)), { kind: 'rejoin', target: 'r:2' });
    const other = { ...returning, health: { at: AT, findings: [{ ...returning.health.findings[0], code: 'replica-writable' as const }] } };
    assert.equal(followUp(auto(other)), undefined);
  });
  it('a finding recorded before codes (problem, no code) leads to nothing until the next round replaces it', () => {
    const old = { ...base, health: { at: AT, findings: [{ server: 'r:2', problem: 'FAULTY but answering: rejoin it when it is safe (gtidflow rejoin)' }] as never } };
    assert.equal(followUp(auto(old)), undefined);
  });
});

describe('respondToDeath: the conductor\'s answer to a dead primary', () => {
  const now = Date.parse(AT);
  it('fails over by itself', () => assert.deepEqual(respondToDeath(base, 'no answer', now, false), { action: 'failover', reason: 'automatic: no answer' }));
  it('leaves it to an operator\'s failover already asked for', () => assert.deepEqual(respondToDeath(base, 'no answer', now, true), { action: 'none' }));
  it('withholds it under policy notify, saying what to run', () => {
    const response = respondToDeath({ ...base, config: { ...base.config, policies: { ...DEFAULT_POLICIES, failover: 'notify' } } }, 'no answer', now, false);
    assert.deepEqual(response, { action: 'withhold', warning: { code: 'failover-withheld', server: 'p:1', text: 'primary p:1 is dead (no answer); no automatic failover: the failover policy is notify: run gtidflow failover' } });
  });
  it('withholds a second one within the block period (safety rule 6), and not after it', () => {
    const recent = { ...base, lastAutomaticFailoverAt: new Date(now - 60_000).toISOString() };
    const response = respondToDeath(recent, 'no answer', now, false);
    assert.ok(response.action === 'withhold' && response.warning.text.includes('unless acknowledged (gtidflow ack c)'));
    assert.equal(automaticFailoverBlocked(recent, now + DEFAULT_POLICIES.blockSeconds * 1000), undefined);
  });
});

describe('outdated: a queued failover meant for a primary that is no longer the recorded one does not run', () => {
  it('the primary changed (a switchover past its promotion completed first)', () => {
    assert.equal(outdated({ primary: 'r:1' }, { kind: 'failover', primary: 'p:1' }), 'not run: it was meant for primary p:1, and r:1 is the primary now');
  });
  it('the same primary, a failover queued before primaries were noted, or another kind: it runs', () => {
    assert.equal(outdated({ primary: 'p:1' }, { kind: 'failover', primary: 'p:1' }), undefined);
    assert.equal(outdated({ primary: 'r:1' }, { kind: 'failover' }), undefined);
    assert.equal(outdated({ primary: 'r:1' }, { kind: 'switchover' }), undefined);
  });
});
