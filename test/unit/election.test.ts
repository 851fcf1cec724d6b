import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ElectionInput, ElectionServer, electPrimary } from '../../workflows/logic/election';
import { gtidErrant } from '../../workflows/logic/gtid';

function server(address: string, fields: Partial<ElectionServer> = {}): ElectionServer {
  return {
    address,
    status: 'SECONDARY',
    penalty: 0,
    reachable: true,
    executed: '0-1-10',
    received: '0-1-10',
    sqlThreadRunning: true,
    ...fields,
  };
}

/** The failing primary: unreachable unless a case says otherwise. */
const oldPrimary = (fields: Partial<ElectionServer> = {}) =>
  server('p:3306', { status: 'PRIMARY', reachable: false, executed: '0-1-12', ...fields });

interface Case {
  name: string;
  input: Omit<ElectionInput, 'flavor'> & { flavor?: ElectionInput['flavor'] };
  winner?: string;
  catchUpFrom?: string;
  /** Expected refusal, or a fragment of the success reason. */
  refused?: string;
  reason?: string;
  /** Expected diverged servers (default: none) and accepted loss. */
  diverged?: { address: string; errant: string }[];
  lost?: string;
}

/** A MariaDB server of a cluster whose recorded primary is server_id 1: its errant transactions as the failover finds them in its history. */
const withHistory = (address: string, history: string, fields: Partial<ElectionServer>) =>
  server(address, { ...fields, errant: gtidErrant('mariadb', history, ['1']) });

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = '8f2b1c3d-0a1b-11ee-8000-0242ac120002';

const cases: Case[] = [
  {
    name: 'empty GTID sets everywhere (fresh cluster): lowest address among equals',
    input: { servers: [oldPrimary({ executed: '' }), server('r2:3306', { executed: '', received: '' }), server('r1:3306', { executed: '', received: '' })] },
    winner: 'r1:3306',
    reason: 'r1:3306 elected: lowest penalty (0), holds every transaction',
  },
  {
    name: 'tie on penalty: the replica ahead of the others wins',
    input: { servers: [oldPrimary(), server('r1:3306', { executed: '0-1-9', received: '0-1-9' }), server('r2:3306'), server('r3:3306', { executed: '0-1-8', received: '0-1-8' })] },
    winner: 'r2:3306',
  },
  {
    name: 'tie on penalty and no one holding everything: the larger one, caught up',
    input: {
      servers: [
        oldPrimary(),
        server('r1:3306', { executed: '0-1-8', received: '0-1-8' }),
        server('r2:3306', { executed: '0-1-9', received: '0-1-9' }),
        server('r3:3306', { penalty: 5 }),
      ],
    },
    winner: 'r2:3306',
    catchUpFrom: 'r3:3306',
    reason: 'r2:3306 elected: lowest penalty (0), catches up 0-1-10 from r3:3306 first',
  },
  {
    name: 'penalty beats data: the least-penalised replica is behind and catches up from the most advanced',
    input: { servers: [oldPrimary(), server('r1:3306', { executed: '0-1-8', received: '0-1-8' }), server('r2:3306', { penalty: 10 })] },
    winner: 'r1:3306',
    catchUpFrom: 'r2:3306',
  },
  {
    name: 'catch-up source: the least-penalised holder, a SPARE included',
    input: {
      servers: [
        oldPrimary(),
        server('r1:3306', { executed: '0-1-8', received: '0-1-8' }),
        server('r2:3306', { penalty: 10 }),
        server('s1:3306', { status: 'SPARE', penalty: 3 }),
      ],
    },
    winner: 'r1:3306',
    catchUpFrom: 's1:3306',
  },
  {
    name: 'a replica with a broken SQL thread is passed over',
    input: { servers: [oldPrimary(), server('r1:3306', { sqlError: 'Duplicate entry\n for key' }), server('r2:3306', { penalty: 1 })] },
    winner: 'r2:3306',
  },
  {
    name: 'the only replica holding everything has its SQL thread stopped: refused',
    input: { servers: [oldPrimary(), server('r1:3306', { sqlThreadRunning: false }), server('r2:3306', { executed: '0-1-9', received: '0-1-9' })] },
    refused: 'cannot promote r2:3306: it lacks 0-1-10 and no healthy server to catch up from holds it: r1:3306 (SQL thread stopped)',
  },
  {
    name: 'a replica with unapplied relay log is passed over',
    input: { servers: [oldPrimary(), server('r1:3306', { received: '0-1-11' }), server('r2:3306', { penalty: 1, executed: '0-1-11', received: '0-1-11' })] },
    winner: 'r2:3306',
  },
  {
    name: 'every candidate diverged (errant): refused, each named, even the most advanced',
    input: {
      servers: [
        oldPrimary({ executed: '0-1-10' }),
        server('r1:3306', { executed: '0-1-10,1-5-2', received: '0-1-10', errant: '1-5-2' }),
        server('r2:3306', { executed: '0-1-10,1-6-1', received: '0-1-10', errant: '1-6-1' }),
      ],
    },
    refused: 'no eligible candidate: p:3306 (failing primary), r1:3306 (diverged: errant transactions 1-5-2), r2:3306 (diverged: errant transactions 1-6-1)',
  },
  {
    name: 'a diverged replica is never elected, however low its penalty; it is named as diverged',
    input: {
      servers: [
        oldPrimary({ executed: '0-1-10' }),
        server('r1:3306', { penalty: 10, executed: '0-1-10', received: '0-1-10' }),
        server('r2:3306', { executed: '0-1-10,1-5-2', received: '0-1-10', errant: '1-5-2' }),
      ],
    },
    winner: 'r1:3306',
    diverged: [{ address: 'r2:3306', errant: '1-5-2' }],
  },
  {
    name: "MariaDB: every server holds another cluster's domain (a shard channel on the primary) from foreign server ids: elected; a local write in the cluster's own domain still diverged",
    input: {
      servers: [
        oldPrimary({ executed: '0-1-12,7-102-8' }),
        // Domain 7 is another cluster's (its primaries 101, then 102): replicated data, not errant.
        withHistory('r1:3306', '0-1-12,7-101-5,7-102-8', { penalty: 10, executed: '0-1-12,7-102-8', received: '0-1-12,7-102-8' }),
        withHistory('r2:3306', '0-1-12,7-101-5,7-102-8', { penalty: 20, executed: '0-1-12,7-102-8', received: '0-1-12,7-102-8' }),
        // Preferred by penalty, but it wrote on its own in domain 0.
        withHistory('r3:3306', '0-1-12,0-3-13,7-101-5,7-102-8', { executed: '0-3-13,7-102-8', received: '0-1-12,7-102-8' }),
      ],
    },
    winner: 'r1:3306',
    reason: 'r1:3306 elected: lowest penalty (10), holds every transaction',
    diverged: [{ address: 'r3:3306', errant: '0-3-13' }],
  },
  {
    name: 'MariaDB: a replica that wrote the same seq itself (a split) is diverged, the one with the acknowledged transaction wins',
    input: {
      servers: [
        oldPrimary({ executed: '0-1-11' }),
        server('r1:3306', { penalty: 10, executed: '0-1-11', received: '0-1-11' }),
        server('r2:3306', { executed: '0-3-11', received: '0-1-10', errant: '0-3-11' }),
      ],
    },
    winner: 'r1:3306',
    diverged: [{ address: 'r2:3306', errant: '0-3-11' }],
  },
  {
    name: 'MariaDB: the same seq from two servers with no errant known is a split, not equal positions: refused',
    input: {
      servers: [
        oldPrimary({ executed: '0-1-11' }),
        server('r1:3306', { executed: '0-1-11', received: '0-1-11' }),
        server('r2:3306', { executed: '0-3-11', received: '0-3-11' }),
      ],
    },
    refused: 'no server holds every transaction: r2:3306 has 0-3-11 that r1:3306 lacks',
  },
  {
    name: 'every candidate diverged (MySQL): refused',
    input: {
      flavor: 'mysql',
      servers: [
        oldPrimary({ executed: `${U1}:1-10` }),
        server('r1:3306', { executed: `${U1}:1-10,${U2}:1-2`, received: `${U1}:1-10`, errant: `${U2}:1-2` }),
        server('r2:3306', { executed: `${U1}:1-10,${U2}:3`, received: `${U1}:1-10`, errant: `${U2}:3` }),
      ],
    },
    refused: `no eligible candidate: p:3306 (failing primary), r1:3306 (diverged: errant transactions ${U2}:1-2), r2:3306 (diverged: errant transactions ${U2}:3)`,
  },
  {
    name: 'a diverged replica behind a FAULTY one: neither is elected nor owed; the clean replica wins',
    input: {
      servers: [
        oldPrimary(),
        server('r1:3306', { executed: '0-1-9,1-5-1', received: '0-1-9', errant: '1-5-1' }),
        server('r2:3306', { penalty: 3, executed: '0-1-9', received: '0-1-9' }),
        server('f1:3306', { status: 'FAULTY', executed: '0-1-10,1-5-1' }),
      ],
    },
    winner: 'r2:3306',
    diverged: [{ address: 'r1:3306', errant: '1-5-1' }],
  },
  {
    name: 'received is owed: a stopped applier holding what the others lack refuses the failover, naming the GTIDs',
    input: {
      servers: [
        oldPrimary({ executed: '0-1-60' }),
        server('r1:3306', { executed: '0-1-10', received: '0-1-60', sqlThreadRunning: false }),
        server('r2:3306', { executed: '0-1-10', received: '0-1-10' }),
      ],
    },
    refused: '0-1-60 was received by r1:3306 (SQL thread stopped) but is applied nowhere a new primary can get it from: promoting now would lose it; repair the applier or rejoin the server, or accept the loss with --accept-loss 0-1-60',
  },
  {
    name: 'received is owed (MySQL): a broken applier, refused with the exact set at stake',
    input: {
      flavor: 'mysql',
      servers: [
        oldPrimary({ executed: `${U1}:1-60` }),
        server('r1:3306', { executed: `${U1}:1-10`, received: `${U1}:1-60`, sqlError: 'Duplicate entry' }),
        server('r2:3306', { executed: `${U1}:1-12`, received: `${U1}:1-12` }),
      ],
    },
    refused: `${U1}:13-60 was received by r1:3306 (SQL thread error: Duplicate entry) but is applied nowhere a new primary can get it from: promoting now would lose it; repair the applier or rejoin the server, or accept the loss with --accept-loss ${U1}:13-60`,
  },
  {
    name: 'a broken applier whose transactions another replica applied: that one is elected',
    input: {
      servers: [
        oldPrimary({ executed: '0-1-60' }),
        server('r1:3306', { executed: '0-1-10', received: '0-1-60', sqlError: 'Duplicate entry' }),
        server('r2:3306', { penalty: 5, executed: '0-1-60', received: '0-1-60' }),
      ],
    },
    winner: 'r2:3306',
  },
  {
    name: 'an operator accepting exactly the set at stake: promoted without it, the loss recorded',
    input: {
      acceptLoss: '0-1-60',
      servers: [
        oldPrimary({ executed: '0-1-60' }),
        server('r1:3306', { executed: '0-1-10', received: '0-1-60', sqlError: 'Duplicate entry' }),
        server('r2:3306', { executed: '0-1-10', received: '0-1-10' }),
      ],
    },
    winner: 'r2:3306',
    lost: '0-1-60',
  },
  {
    name: 'an operator accepting another set than the one at stake: still refused',
    input: {
      acceptLoss: '0-1-50',
      servers: [
        oldPrimary({ executed: '0-1-60' }),
        server('r1:3306', { executed: '0-1-10', received: '0-1-60', sqlError: 'Duplicate entry' }),
        server('r2:3306', { executed: '0-1-10', received: '0-1-10' }),
      ],
    },
    refused: '0-1-60 was received by r1:3306 (SQL thread error: Duplicate entry) but is applied nowhere a new primary can get it from: promoting now would lose it; repair the applier or rejoin the server, or accept the loss with --accept-loss 0-1-60',
  },
  {
    name: 'a reachable FAULTY server ahead of the candidates is neither a candidate nor data to keep',
    input: { servers: [oldPrimary(), server('r1:3306', { executed: '0-1-9', received: '0-1-9' }), server('f1:3306', { status: 'FAULTY' })] },
    winner: 'r1:3306',
    reason: 'r1:3306 elected: lowest penalty (0), holds every transaction',
  },
  {
    name: 'a FAULTY replica still receiving from the failing primary holds what no candidate has: owed, refused',
    input: {
      servers: [
        oldPrimary(),
        server('r1:3306', { executed: '0-1-9', received: '0-1-9' }),
        server('f1:3306', { status: 'FAULTY', executed: '0-1-10', received: '0-1-10', receivingFromPrimary: true }),
      ],
    },
    refused: '0-1-10 was received by f1:3306 (FAULTY) but is applied nowhere a new primary can get it from: promoting now would lose it; repair the applier or rejoin the server, or accept the loss with --accept-loss 0-1-10',
  },
  {
    name: 'a FAULTY replica receiving from the failing primary that holds nothing more changes nothing',
    input: {
      servers: [
        oldPrimary(),
        server('r1:3306'),
        server('f1:3306', { status: 'FAULTY', executed: '0-1-8', received: '0-1-8', receivingFromPrimary: true }),
      ],
    },
    winner: 'r1:3306',
  },
  {
    name: 'a SPARE only: refused unless named',
    input: { servers: [oldPrimary(), server('s1:3306', { status: 'SPARE' })] },
    refused: 'no eligible candidate: p:3306 (failing primary), s1:3306 (SPARE not named)',
  },
  {
    name: 'a SPARE only, named: promoted',
    input: { servers: [oldPrimary(), server('s1:3306', { status: 'SPARE' })], named: 's1:3306' },
    winner: 's1:3306',
    reason: 's1:3306 elected: named by the operator, holds every transaction',
  },
  {
    name: 'named candidate with a higher penalty and behind: promoted after catching up',
    input: { servers: [oldPrimary(), server('r1:3306'), server('r2:3306', { penalty: 7, executed: '0-1-9', received: '0-1-9' })], named: 'r2:3306' },
    winner: 'r2:3306',
    catchUpFrom: 'r1:3306',
  },
  {
    name: 'named candidate with a broken SQL thread: refused with the reason',
    input: { servers: [oldPrimary(), server('r1:3306'), server('r2:3306', { sqlError: "Duplicate entry '1'\nfor key 'PRIMARY'" })], named: 'r2:3306' },
    refused: "cannot promote r2:3306: SQL thread error: Duplicate entry '1' for key 'PRIMARY'",
  },
  {
    name: 'named candidate with unapplied relay log: refused',
    input: { servers: [oldPrimary(), server('r1:3306', { received: '0-1-11' })], named: 'r1:3306' },
    refused: 'cannot promote r1:3306: relay log not applied',
  },
  {
    name: 'named candidate is the failing primary: refused',
    input: { servers: [oldPrimary(), server('r1:3306')], named: 'p:3306' },
    refused: 'cannot promote p:3306: failing primary',
  },
  {
    name: 'named candidate is unreachable: refused',
    input: { servers: [oldPrimary(), server('r1:3306'), server('r2:3306', { reachable: false })], named: 'r2:3306' },
    refused: 'cannot promote r2:3306: unreachable',
  },
  {
    name: 'named candidate is not in the cluster: refused',
    input: { servers: [oldPrimary(), server('r1:3306')], named: 'x:3306' },
    refused: 'cannot promote x:3306: not a server of this cluster',
  },
  {
    name: 'divergent pair: refused, naming both',
    input: {
      servers: [
        oldPrimary(),
        server('r1:3306', { executed: '0-1-10,1-2-5', received: '0-1-10,1-2-5' }),
        server('r2:3306', { executed: '0-1-11', received: '0-1-11' }),
      ],
    },
    refused: 'no server holds every transaction: r2:3306 has 0-1-11 that r1:3306 lacks',
  },
  {
    name: 'the old primary and unreachable replicas do not count as data to keep',
    input: {
      servers: [
        oldPrimary({ reachable: true, executed: '0-1-20' }),
        server('r1:3306'),
        server('r2:3306', { reachable: false, executed: '0-1-15', received: '0-1-15' }),
      ],
    },
    winner: 'r1:3306',
  },
  {
    name: 'nobody reachable: no eligible candidate',
    input: { servers: [oldPrimary(), server('r1:3306', { reachable: false })] },
    refused: 'no eligible candidate: p:3306 (failing primary), r1:3306 (unreachable)',
  },
  {
    name: 'MySQL: penalty beats data, catch-up from the most advanced',
    input: {
      flavor: 'mysql',
      servers: [
        oldPrimary({ executed: `${U1}:1-20` }),
        server('r1:3306', { executed: `${U1}:1-15`, received: `${U1}:1-15` }),
        server('r2:3306', { penalty: 1, executed: `${U1}:1-18`, received: `${U1}:1-18` }),
        server('r3:3306', { penalty: 2, executed: `${U1.toUpperCase()}:1-18`, received: '' }),
      ],
    },
    winner: 'r1:3306',
    catchUpFrom: 'r2:3306',
    reason: `r1:3306 elected: lowest penalty (0), catches up ${U1}:16-18 from r2:3306 first`,
  },
];

describe('electPrimary', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = electPrimary({ flavor: 'mariadb', ...c.input });
      if (c.refused !== undefined) {
        assert.deepEqual(result, { ok: false, reason: c.refused });
        return;
      }
      assert.ok(result.ok, result.reason);
      assert.equal(result.winner, c.winner);
      assert.equal(result.catchUpFrom, c.catchUpFrom);
      if (c.reason !== undefined) assert.equal(result.reason, c.reason);
      assert.deepEqual(result.diverged, c.diverged ?? []);
      assert.equal(result.lost, c.lost);
      assert.ok(!result.reason.includes('\n'));
    });
  }

  it('does not depend on the order of the servers', () => {
    for (const c of cases) {
      const forward = electPrimary({ flavor: 'mariadb', ...c.input });
      const reversed = electPrimary({ flavor: 'mariadb', ...c.input, servers: [...c.input.servers].reverse() });
      if (forward.ok) assert.deepEqual(reversed, forward, c.name);
      else assert.equal(reversed.ok, false, c.name);
    }
  });
});
