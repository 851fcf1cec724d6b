import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assessHealth, type FindingCode, type HealthServer } from '../../workflows/logic/health';
import { DEFAULT_SEMI_SYNC, type SemiSyncPolicy } from '../../workflows/model';

const primary: HealthServer = { address: 'p:1', status: 'PRIMARY', reachable: true, readOnly: false, executed: '0-1-10', replication: null, semiSync: { primaryEnabled: true, primaryActive: true, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 } };
const replica = (fields: Partial<HealthServer> = {}, replication: Partial<NonNullable<HealthServer['replication']>> = {}): HealthServer => ({
  address: 'r:1', status: 'SECONDARY', reachable: true, readOnly: true, executed: '0-1-10',
  semiSync: { primaryEnabled: false, primaryActive: false, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 },
  replication: { source: 'p:1', ioRunning: true, ioConnecting: false, sqlRunning: true, ioErrno: 0, sqlErrno: 0, sqlError: '', secondsBehind: 0, ...replication },
  ...fields,
});
const findings = (servers: HealthServer[], publishedViewId: number | null = 4, semiSync: SemiSyncPolicy = DEFAULT_SEMI_SYNC) =>
  assessHealth({ flavor: 'mariadb', primary: 'p:1', servers, viewId: 4, publishedViewId, lagLimitSeconds: 30, semiSync });
const assess = (...args: Parameters<typeof findings>) => findings(...args).map((f) => `${f.server} ${f.text}${f.repair ? ` [${f.repair}]` : ''}`);
const codes = (...args: Parameters<typeof findings>) => findings(...args).map((f) => f.code);

test('assessHealth: what is repaired, what is only reported', () => {
  const cases: [string, HealthServer[], number | null, string[], FindingCode[]][] = [
    ['healthy', [primary, replica()], 4, [], []],
    ['stale published view', [primary, replica()], 3, ['p:1 published view 3 differs from recorded view 4 [publish-view]'], ['view-not-published']],
    ['writable replica', [primary, replica({ readOnly: false })], 4, ['r:1 a replica is writable [set-read-only]'], ['replica-writable']],
    ['IO stopped after the source went away: restarted', [primary, replica({}, { ioRunning: false, ioErrno: 2003 })], 4, ['r:1 replication stopped (IO error 2003) [start-replication]'], ['replication-stopped']],
    ['IO stopped on 1236: a person decides', [primary, replica({}, { ioRunning: false, ioErrno: 1236 })], 4, ['r:1 replication stopped (IO error 1236)'], ['replication-stopped']],
    ['applier error: reported', [primary, replica({}, { sqlRunning: false, sqlErrno: 1062, sqlError: 'Duplicate entry' })], 4, ['r:1 applier stopped with error 1062: Duplicate entry'], ['applier-error']],
    ['errant and stopped: not restarted', [primary, replica({ executed: '0-2-11' }, { ioRunning: false })], 4, ['r:1 errant transactions 0-2-11', 'r:1 replication stopped (IO error 0)'], ['errant-transactions', 'replication-stopped']],
    ['lag', [primary, replica({}, { secondsBehind: 31 })], 4, ['r:1 31 s behind'], ['replica-lagging']],
    ['wrong source', [primary, replica({}, { source: 'x:1' })], 4, ['r:1 replicates from x:1, not from p:1'], ['wrong-source']],
    ['unreachable replica', [primary, replica({ reachable: false })], 4, ['r:1 does not answer [mark-faulty]'], ['replica-unreachable']],
    ['semi-sync off on the primary', [{ ...primary, semiSync: { ...primary.semiSync!, primaryEnabled: false, primaryActive: false } }, replica()], 4,
      ['p:1 the primary runs asynchronously: acknowledged writes may be lost in a failover (semi-sync off) [semi-sync-primary-side]'], ['primary-async']],
    ['semi-sync on, nobody acknowledges', [{ ...primary, semiSync: { ...primary.semiSync!, primaryActive: false } }, replica()], 4,
      ['p:1 the primary runs asynchronously: acknowledged writes may be lost in a failover (semi-sync on but no replica acknowledges)'], ['primary-async']],
    ['semi-sync settings drifted from the policy', [{ ...primary, semiSync: { ...primary.semiSync!, waitPoint: 'AFTER_COMMIT' } }, replica()], 4,
      ['p:1 semi-sync runs AFTER_COMMIT/10000 ms, the policy says AFTER_SYNC/10000 ms [semi-sync-primary-side]'], ['semi-sync-mismatch']],
    ['a read-only primary (restarted): writable again', [{ ...primary, readOnly: true }, replica()], 4, ['p:1 the primary is read-only [set-writable]'], ['primary-read-only']],
    ['a read-only primary a replica is ahead of: an operator fails over', [{ ...primary, readOnly: true }, replica({}, { received: '0-1-11' })], 4,
      ['p:1 the primary is read-only and lacks what r:1 holds (0-1-11): fail over to it (gtidflow failover)'], ['primary-read-only-behind-replica']],
    ['a read-only primary that replicates (a switchover that failed half-way): not opened', [{ ...primary, readOnly: true, replication: replica().replication }, replica()], 4,
      ['p:1 the primary is read-only and replicates from p:1: an operator decides'], ['primary-read-only-replicating']],
    ['a read-only primary while another server is writable: not opened', [{ ...primary, readOnly: true }, replica({ readOnly: false, status: 'FAULTY' })], 4,
      ['p:1 the primary is read-only while r:1 is writable: an operator decides', 'r:1 FAULTY but answering: rejoin it when it is safe (gtidflow rejoin)'], ['primary-read-only-another-writable', 'faulty-answering']],
    ['FAULTY answering', [primary, replica({ status: 'FAULTY', readOnly: false })], 4, ['r:1 FAULTY but answering: rejoin it when it is safe (gtidflow rejoin)'], ['faulty-answering']],
    ['primary down: detection decides', [{ ...primary, reachable: false }, replica()], 4, ['p:1 the primary does not answer (detection decides on failover)'], ['primary-unreachable']],
  ];
  for (const [name, servers, published, expected, expectedCodes] of cases) {
    assert.deepEqual(assess(servers, published), expected, name);
    assert.deepEqual(codes(servers, published), expectedCodes, name);
  }
});

test('assessHealth: with the semi-sync policy off the primary is asynchronous, and said so, nothing repaired', () => {
  const off = { ...primary, semiSync: { ...primary.semiSync!, primaryEnabled: false, primaryActive: false } };
  assert.deepEqual(assess([off, replica()], 4, 'off'), ['p:1 the primary runs asynchronously: acknowledged writes may be lost in a failover (semi-sync policy off)']);
  assert.deepEqual(codes([off, replica()], 4, 'off'), ['primary-async']);
});
