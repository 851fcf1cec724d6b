import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { channelName, movedData, movedTables, moveFreezeName, movedTo, nextMap, parseRange, shardOfKey, shardProblem, splitAt, splitProblem } from '../../workflows/logic/shards';
import type { RangeShard, Shard, ShardMap } from '../../workflows/shard-model';

const orders = (name: string, lo: number, hi: number | null, cluster = 'a'): RangeShard =>
  ({ name, kind: 'range', cluster, tables: ['shop.orders', 'shop.items'], key: 'customer_id', range: { lo, hi } });
const map = (...shards: Shard[]): ShardMap => ({ version: shards.length, at: '', shards });
const db = (name: string, database: string, cluster = 'a'): Shard => ({ name, kind: 'database', cluster, database, endpoint: null });

describe('shard map', () => {
  it('takes a database shard or a range shard that overlaps nothing', () => {
    const m = map(db('users', 'users'), orders('o1', 0, 1000));
    assert.equal(shardProblem(m, db('billing', 'billing')), undefined);
    assert.equal(shardProblem(m, orders('o2', 1000, null)), undefined);
  });
  it('refuses, with one line, what would make the map ambiguous or unusable', () => {
    const m = map(db('users', 'users'), orders('o1', 0, 1000));
    const refusals: [Shard, RegExp][] = [
      [db('users', 'other'), /^shard users already exists$/],
      [db('u2', 'users'), /^database users is already in shard users$/],
      [db('Bad_Name', 'x'), /^a shard name is lower-case letters, digits and hyphens/],
      [db('x', 'no-such db'), /is not a database name$/],
      [orders('o2', 999, 2000), /^the range 999:2000 overlaps shard o1 \(0:1000\)$/],
      [orders('o3', -5, null), /overlaps shard o1/],
      [{ ...orders('o4', 2000, 3000), tables: ['shop.orders'] }, /a range shard names the same tables and key as the others over them$/],
      [{ ...orders('o5', 2000, 3000), tables: ['users.accounts'] }, /^users\.accounts is in database shard users$/],
      [{ ...orders('o6', 2000, 3000), tables: ['orders'] }, /is not a table named as db\.table$/],
      [orders('o7', 5, 5), /^the range 5:5 is empty$/],
    ];
    for (const [shard, reason] of refusals) assert.match(shardProblem(m, shard) ?? '', reason, shard.name);
  });
  it('parses half-open ranges, lo: without an upper bound', () => {
    assert.deepEqual(parseRange('0:1000000'), { lo: 0, hi: 1000000 });
    assert.deepEqual(parseRange('-10:'), { lo: -10, hi: null });
    assert.throws(() => parseRange('1000:10'), /^Error: the range 1000:10 is empty$/);
    assert.throws(() => parseRange('a:b'), /a range is lo:hi or lo:/);
  });
  it('finds the range shard of a key: lo in, hi out', () => {
    const m = map(orders('low', 0, 1000), orders('high', 1000, null, 'b'));
    assert.equal(shardOfKey(m, 'shop.orders', 999)?.name, 'low');
    assert.equal(shardOfKey(m, 'shop.items', 1000)?.name, 'high');
    assert.equal(shardOfKey(m, 'shop.orders', -1), undefined);
    assert.equal(shardOfKey(m, 'shop.other', 5), undefined);
  });
  it('a flip is a new version with the shard elsewhere, the rest unchanged', () => {
    const m = map(db('users', 'users'), db('billing', 'billing'));
    const next = nextMap(m, 'now', (list) => movedTo(list, 'users', 'b'));
    assert.equal(next.version, m.version + 1);
    assert.deepEqual(next.shards.map((s) => [s.name, s.cluster]), [['users', 'b'], ['billing', 'a']]);
  });
  it('names of freezes and replication connections fit their limits and differ per shard', () => {
    const long = 'a'.repeat(40);
    assert.match(moveFreezeName(long), /^[a-z0-9-]{1,20}$/);
    assert.notEqual(moveFreezeName('shop'), moveFreezeName('shop2'));
    assert.equal(channelName('eu-west'), 'gtidflow_shard_eu_west');
    assert.ok(channelName(long).length <= 64);
  });
  it('a split keeps [lo, at) and gives [at, hi) to a new shard elsewhere; the range must hold keys on both sides', () => {
    const m = map(orders('o', 0, 1000), db('users', 'users'));
    const o = m.shards[0] as RangeShard;
    assert.deepEqual(splitAt(m.shards, 'o', { at: 400, as: 'o-high' }, 'b').map((s) => [s.name, s.cluster, s.kind === 'range' ? s.range : null]),
      [['o', 'a', { lo: 0, hi: 400 }], ['o-high', 'b', { lo: 400, hi: 1000 }], ['users', 'a', null]]);
    assert.equal(splitProblem(m, o, { at: 400, as: 'o-high' }), undefined);
    assert.match(splitProblem(m, o, { at: 0, as: 'x' }) ?? '', /^--at 0 is not inside shard o's range 0:1000/);
    assert.match(splitProblem(m, o, { at: 1000, as: 'x' }) ?? '', /not inside/);
    assert.match(splitProblem(m, o, { at: 10, as: 'users' }) ?? '', /^shard users already exists$/);
    assert.match(splitProblem(m, o, { at: 10, as: 'o' }) ?? '', /a name of its own/);
    assert.match(splitProblem(m, { ...o, tables: ['a.t', 'b.t'] }, { at: 10, as: 'x' }) ?? '', /several databases/);
  });
  it('a move carries a database whole; a split, its tables whole and the key range that moves', () => {
    assert.deepEqual(movedData(db('users', 'users')), { database: 'users', tables: null });
    assert.deepEqual(movedTables(movedData(db('users', 'users'))), ['users.%']);
    const split = movedData(orders('o', 0, null), { at: 500 });
    assert.deepEqual(split, { database: 'shop', tables: ['orders', 'items'], key: { column: 'customer_id', lo: 500, hi: null } });
    assert.deepEqual(movedTables(split), ['shop.orders', 'shop.items']);
  });
});
