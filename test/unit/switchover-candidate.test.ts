import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseSwitchoverCandidate, type SwitchoverServer } from '../../workflows/logic/switchover-candidate';

const primary: SwitchoverServer = { address: 'p:3306', status: 'PRIMARY', penalty: 0, reachable: true, executed: '0-1-10', source: null, ioRunning: false, sqlRunning: false };
const replica = (address: string, fields: Partial<SwitchoverServer> = {}): SwitchoverServer =>
  ({ address, status: 'SECONDARY', penalty: 0, reachable: true, executed: '0-1-9', source: 'p:3306', ioRunning: true, sqlRunning: true, ...fields });

const cases: { name: string; servers: SwitchoverServer[]; named?: string; expect: string }[] = [
  { name: 'the least penalised healthy replica', servers: [replica('r2:3306', { penalty: 1 }), replica('r1:3306', { penalty: 2 })], expect: 'r2:3306' },
  { name: 'ties by address', servers: [replica('r2:3306'), replica('r1:3306')], expect: 'r1:3306' },
  { name: 'a SPARE only when named', servers: [replica('s1:3306', { status: 'SPARE' }), replica('r9:3306', { penalty: 9 })], expect: 'r9:3306' },
  { name: 'a named SPARE', servers: [replica('s1:3306', { status: 'SPARE' })], named: 's1:3306', expect: 's1:3306' },
  {
    name: 'a replica that wrote on its own (errant, behind the primary by seq) is passed over',
    servers: [replica('r1:3306', { executed: '0-3-5', errant: '0-3-5' }), replica('r2:3306', { penalty: 5 })],
    expect: 'r2:3306',
  },
  {
    name: 'a named diverged replica: refused with the transactions',
    servers: [replica('r1:3306', { executed: '0-3-5', errant: '0-3-5' })],
    named: 'r1:3306',
    expect: 'cannot promote r1:3306: it diverged: errant transactions 0-3-5',
  },
  {
    name: 'the same seq from another server is divergent',
    servers: [replica('r1:3306', { executed: '0-3-10' })],
    named: 'r1:3306',
    expect: 'cannot promote r1:3306: it holds transactions the primary lacks: 0-3-10',
  },
  {
    name: 'nobody healthy: every reason named',
    servers: [replica('r1:3306', { sqlRunning: false }), replica('r2:3306', { source: 'x:3306' })],
    expect: 'no replica can be promoted: r1:3306: its replication is not running; r2:3306: it replicates from x:3306, not from p:3306',
  },
];

describe('chooseSwitchoverCandidate', () => {
  for (const c of cases) {
    it(c.name, () => {
      const choice = chooseSwitchoverCandidate('mariadb', primary, [primary, ...c.servers], c.named);
      assert.equal(choice.ok ? choice.candidate : choice.reason, c.expect);
    });
  }
});
