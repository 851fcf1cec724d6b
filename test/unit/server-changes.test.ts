import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planServerChange } from '../../workflows/logic/server-changes';
import type { ServerRecord } from '../../workflows/model';

const server = (address: string, status: ServerRecord['status']): ServerRecord => ({ address, status, penalty: 0, capability: 'read-write', databases: {} });
const servers = [server('p:1', 'PRIMARY'), server('r:1', 'SECONDARY'), server('s:1', 'SPARE'), server('f:1', 'FAULTY')];

describe('planServerChange: safety rule 5, a server leaving FAULTY passes the rejoin checks', () => {
  it('FAULTY → SPARE is a rejoin that ends in SPARE', () => {
    assert.deepEqual(planServerChange(servers, { address: 'f:1', status: 'SPARE' }), { ok: true, kind: 'rejoin', status: 'SPARE' });
  });

  it('FAULTY → SPARE with --update-only is recorded only', () => {
    const plan = planServerChange(servers, { address: 'f:1', status: 'SPARE', updateOnly: true });
    assert.ok(plan.ok && plan.kind === 'reconfigure');
    assert.equal(plan.servers.find((s) => s.address === 'f:1')?.status, 'SPARE');
  });

  it('leaving FAULTY together with a penalty or capability change is refused in one line', () => {
    const plan = planServerChange(servers, { address: 'f:1', status: 'SPARE', penalty: 3 });
    assert.deepEqual(plan, { ok: false, reason: 'f:1 leaves FAULTY through the rejoin checks: change its status alone, then its penalty or capability' });
  });

  it('FAULTY → SECONDARY stays refused by the matrix', () => {
    const plan = planServerChange(servers, { address: 'f:1', status: 'SECONDARY' });
    assert.ok(!plan.ok && plan.reason.startsWith('f:1: cannot change FAULTY to SECONDARY by set-status'));
  });

  it('a FAULTY server keeping its status (a penalty) and every other change are reconfigures', () => {
    for (const change of [
      { address: 'f:1', penalty: 4 },
      { address: 'r:1', status: 'SPARE' as const },
      { address: 's:1', status: 'SECONDARY' as const },
      { address: 'r:1', status: 'FAULTY' as const },
      { address: 'r:1', capability: 'disabled' as const },
    ]) {
      const plan = planServerChange(servers, change);
      assert.ok(plan.ok && plan.kind === 'reconfigure', JSON.stringify(change));
    }
  });
});
