import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Flavor,
  gtidContains,
  gtidDivergent,
  gtidEqual,
  gtidErrant,
  gtidIsEmpty,
  gtidNormalize,
  gtidOrigins,
  gtidSubtract,
  gtidTransactionCount,
  gtidUnion,
} from '../../workflows/logic/gtid';
import { errantBinlogRange, withDomainsOf } from '../../workflows/logic/gtid-mariadb';

const A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const B = '8f2b1c3d-0a1b-11ee-8000-0242ac120002';

const upper = (uuid: string) => uuid.toUpperCase();

type Case<T> = [flavor: Flavor, a: string, b: string, expected: T];

describe('gtidNormalize', () => {
  const cases: Array<[Flavor, string, string]> = [
    ['mariadb', '', ''],
    ['mariadb', '  ', ''],
    ['mariadb', '1-2-5,0-1-100', '0-1-100,1-2-5'],
    ['mariadb', '0-1-5,0-2-9,0-3-7', '0-2-9'],
    ['mariadb', '0-1-9,0-2-9', '0-1-9'],
    ['mariadb', ' 0-1-5 , 10-1-3', '0-1-5,10-1-3'],
    ['mariadb', '2-1-1,10-1-1,1-1-1', '1-1-1,2-1-1,10-1-1'],
    ['mariadb', '007-01-0100', '7-1-100'],
    ['mysql', '', ''],
    ['mysql', `${A.toUpperCase()}:1-5`, `${A}:1-5`],
    ['mysql', `${A}:7-9,\n  ${A}:1-5`, `${A}:1-5:7-9`],
    ['mysql', `${A}:1-3:4-6:8`, `${A}:1-6:8`],
    ['mysql', `${A}:5:1-10`, `${A}:1-10`],
    ['mysql', `${B}:1,${A}:2`, `${A}:2,${B}:1`],
    ['mysql', `${A}:TagA:1-3`, `${A}:taga:1-3`],
    ['mysql', `${A}:1-2:tag_b:5:3-4:tag_a:1`, `${A}:1-2,${A}:tag_a:1,${A}:tag_b:3-5`],
  ];
  for (const [flavor, input, expected] of cases) {
    it(`${flavor}: ${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(gtidNormalize(flavor, input), expected);
    });
  }
});

describe('gtidContains', () => {
  const cases: Array<Case<boolean>> = [
    ['mariadb', '', '', true],
    ['mariadb', '0-1-5', '', true],
    ['mariadb', '', '0-1-5', false],
    ['mariadb', '0-1-10', '0-1-5', true],
    ['mariadb', '0-1-5', '0-1-10', false],
    ['mariadb', '0-2-10', '0-1-10', true],
    ['mariadb', '0-1-10,1-1-3', '0-1-10', true],
    ['mariadb', '0-1-10', '0-1-10,1-1-3', false],
    ['mariadb', '0-1-10,1-1-3', '0-1-9,1-1-4', false],
    ['mysql', '', '', true],
    ['mysql', `${A}:1-10`, `${A}:3-5`, true],
    ['mysql', `${A}:1-10`, `${upper(A)}:3-5`, true],
    ['mysql', `${A}:1-4:6-10`, `${A}:3-7`, false],
    ['mysql', `${A}:1-10`, `${A}:1-10,${B}:1`, false],
    ['mysql', `${A}:1-10,${B}:1-2`, `${B}:2,${A}:10`, true],
    ['mysql', `${A}:1-10`, `${A}:t:1`, false],
    ['mysql', `${A}:t:1-3`, `${A}:T:2`, true],
  ];
  for (const [flavor, x, y, expected] of cases) {
    it(`${flavor}: ${JSON.stringify(x)} ⊇ ${JSON.stringify(y)} is ${expected}`, () => {
      assert.equal(gtidContains(flavor, x, y), expected);
    });
  }
});

describe('gtidSubtract', () => {
  const cases: Array<Case<string>> = [
    ['mariadb', '', '0-1-5', ''],
    ['mariadb', '0-1-10,1-2-5', '0-1-10', '1-2-5'],
    ['mariadb', '0-1-10,1-2-5', '0-3-9,1-2-7', '0-1-10'],
    ['mariadb', '0-1-10', '0-2-10', ''],
    ['mariadb', '2-1-1,0-1-1', '', '0-1-1,2-1-1'],
    ['mysql', `${A}:1-10`, `${A}:3-5`, `${A}:1-2:6-10`],
    ['mysql', `${A}:1-10`, `${A}:1-4:6:9-20`, `${A}:5:7-8`],
    ['mysql', `${A}:1-10,${B}:1-3`, `${A}:1-10`, `${B}:1-3`],
    ['mysql', `${A}:1-10`, `${A}:1-10`, ''],
    ['mysql', `${A}:1-3:t:1-3`, `${A}:1-3`, `${A}:t:1-3`],
  ];
  for (const [flavor, x, y, expected] of cases) {
    it(`${flavor}: ${JSON.stringify(x)} - ${JSON.stringify(y)} = ${JSON.stringify(expected)}`, () => {
      assert.equal(gtidSubtract(flavor, x, y), expected);
    });
  }
});

describe('gtidDivergent', () => {
  const cases: Array<Case<string>> = [
    ['mariadb', '0-1-10', '0-1-10', ''],
    ['mariadb', '0-1-10', '0-1-12', ''],
    ['mariadb', '0-2-10', '0-1-10', '0-2-10'],
    ['mariadb', '0-1-11,1-1-1', '0-1-10', '0-1-11,1-1-1'],
    ['mysql', `${A}:1-10`, `${A}:1-5`, `${A}:6-10`],
    ['mysql', `${A}:1-5`, `${A}:1-10`, ''],
  ];
  for (const [flavor, x, y, expected] of cases) {
    it(`${flavor}: ${JSON.stringify(x)} diverges from ${JSON.stringify(y)} by ${JSON.stringify(expected)}`, () => {
      assert.equal(gtidDivergent(flavor, x, y), expected);
    });
  }
});

describe('gtidUnion', () => {
  const cases: Array<Case<string>> = [
    ['mariadb', '', '', ''],
    ['mariadb', '0-1-10', '1-2-3', '0-1-10,1-2-3'],
    ['mariadb', '0-1-10,1-2-3', '0-3-12,1-2-1', '0-3-12,1-2-3'],
    ['mariadb', '0-1-10', '0-2-10', '0-1-10'],
    ['mysql', `${A}:1-5`, `${A}:6-9`, `${A}:1-9`],
    ['mysql', `${A}:1-5`, `${A}:8,${B}:1`, `${A}:1-5:8,${B}:1`],
    ['mysql', '', `${upper(B)}:2-3`, `${B}:2-3`],
  ];
  for (const [flavor, x, y, expected] of cases) {
    it(`${flavor}: ${JSON.stringify(x)} ∪ ${JSON.stringify(y)} = ${JSON.stringify(expected)}`, () => {
      assert.equal(gtidUnion(flavor, x, y), expected);
    });
  }
});

describe('gtidEqual', () => {
  const cases: Array<Case<boolean>> = [
    ['mariadb', '', '', true],
    ['mariadb', '1-1-3,0-1-10', '0-1-10,1-1-3', true],
    ['mariadb', '0-1-10', '0-2-10', true],
    ['mariadb', '0-1-10', '0-1-11', false],
    ['mariadb', '0-1-10', '0-1-10,1-1-1', false],
    ['mysql', `${A}:1-3:4-5`, `${upper(A)}:1-5`, true],
    ['mysql', `${A}:1-5`, `${A}:1-6`, false],
    ['mysql', '', `${A}:1`, false],
  ];
  for (const [flavor, x, y, expected] of cases) {
    it(`${flavor}: ${JSON.stringify(x)} = ${JSON.stringify(y)} is ${expected}`, () => {
      assert.equal(gtidEqual(flavor, x, y), expected);
    });
  }
});

describe('gtidIsEmpty and gtidTransactionCount', () => {
  const cases: Array<[Flavor, string, boolean, number]> = [
    ['mariadb', '', true, 0],
    ['mariadb', '0-1-0', false, 0],
    ['mariadb', '0-1-10,1-2-5', false, 15],
    ['mariadb', '0-1-10,0-2-4', false, 10],
    ['mysql', '', true, 0],
    ['mysql', ` \n `, true, 0],
    ['mysql', `${A}:1-5:7-9`, false, 8],
    ['mysql', `${A}:1-5,${B}:3,${A}:4-6`, false, 7],
    ['mysql', `${A}:1-2:t:1-2`, false, 4],
  ];
  for (const [flavor, position, empty, count] of cases) {
    it(`${flavor}: ${JSON.stringify(position)} empty=${empty} count=${count}`, () => {
      assert.equal(gtidIsEmpty(flavor, position), empty);
      assert.equal(gtidTransactionCount(flavor, position), count);
    });
  }
});

describe('malformed positions are refused', () => {
  const cases: Array<[Flavor, string, RegExp]> = [
    ['mariadb', '0-1', /^Error: invalid MariaDB GTID "0-1": expected domain-server-seq$/],
    ['mariadb', '0-1-5,', /invalid MariaDB GTID ""/],
    ['mariadb', '0-1-x', /invalid MariaDB GTID "0-1-x"/],
    ['mariadb', '-1-1-5', /invalid MariaDB GTID "-1-1-5"/],
    ['mariadb', `${A}:1-5`, /invalid MariaDB GTID/],
    ['mariadb', '4294967296-1-1', /invalid MariaDB GTID "4294967296-1-1": number out of range/],
    ['mariadb', '0-1-99999999999999999999', /number out of range/],
    ['mysql', '0-1-5', /invalid MySQL GTID set element "0-1-5"/],
    ['mysql', A, /invalid MySQL GTID set element ".*": missing interval/],
    ['mysql', `${A}:`, /invalid MySQL GTID set element/],
    ['mysql', `${A}:0-3`, /bad interval "0-3"/],
    ['mysql', `${A}:5-3`, /bad interval "5-3"/],
    ['mysql', `${A}:1-5,`, /invalid MySQL GTID set element ""/],
    ['mysql', `${A}:1-5:tag`, /missing interval/],
    ['mysql', `${A}:t1:t2:1`, /missing interval before tag "t2"/],
    ['mysql', `${A}:1-x`, /"1-x" is neither an interval nor a tag/],
    ['mysql', `${A}:1tag:1`, /"1tag" is neither an interval nor a tag/],
    ['mysql', `${A}:${'t'.repeat(33)}:1`, /is neither an interval nor a tag/],
    ['mysql', 'not-a-uuid:1-5', /expected uuid:interval/],
  ];
  for (const [flavor, position, message] of cases) {
    it(`${flavor}: ${JSON.stringify(position)}`, () => {
      for (const op of [
        () => gtidNormalize(flavor, position),
        () => gtidContains(flavor, '', position),
        () => gtidSubtract(flavor, position, ''),
        () => gtidUnion(flavor, '', position),
        () => gtidIsEmpty(flavor, position),
        () => gtidTransactionCount(flavor, position),
      ]) {
        assert.throws(op, (err: Error) => message.test(String(err)));
      }
    });
  }

  it('an unknown flavor is refused', () => {
    assert.throws(() => gtidNormalize('postgres' as Flavor, ''), /unknown flavor "postgres"/);
  });
});

describe('gtidOrigins and gtidErrant', () => {
  const cases: Array<[Flavor, string, string[], string[], string]> = [
    // flavor, history, origins found, recorded primaries, errant
    ['mariadb', '', [], ['1'], ''],
    ['mariadb', '0-1-100,0-2-40', ['1', '2'], ['1', '2'], ''],
    ['mariadb', '0-1-100,0-3-101', ['1', '3'], ['1'], '0-3-101'],
    ['mariadb', '1-7-2,0-1-100,0-3-9', ['1', '3', '7'], ['1'], '0-3-9'],
    // Another cluster's domain (7), replicated in through a shard channel on the primary: none of its server ids is errant.
    ['mariadb', '0-1-100,7-101-5', ['1', '101'], ['1'], ''],
    ['mariadb', '0-1-100,0-2-120,7-101-5,7-102-9', ['1', '101', '102', '2'], ['1', '2'], ''],
    // A local write in the cluster's own domain still is, beside the other cluster's.
    ['mariadb', '0-1-100,0-3-101,7-101-5', ['1', '101', '3'], ['1'], '0-3-101'],
    // Two own domains (a recorded primary wrote in each), one foreign.
    ['mariadb', '0-1-10,1-2-4,1-5-6,9-8-1', ['1', '2', '5', '8'], ['1', '2'], '1-5-6'],
    // A domain a recorded primary wrote in is own, whoever else wrote in it.
    ['mariadb', '0-1-10,7-1-3,7-3-4', ['1', '3'], ['1'], '7-3-4'],
    // No recorded primary's transaction at all (a new server's own writes): which domains are the cluster's is unknown, every one counts.
    ['mariadb', '0-4-3', ['4'], ['1', '2'], '0-4-3'],
    ['mariadb', '0-4-3,7-101-5', ['101', '4'], ['1'], '0-4-3,7-101-5'],
    ['mysql', `${A}:1-10`, [A], [A], ''],
    ['mysql', `${A}:1-10,${B}:1-2`, [A, B], [A], `${B}:1-2`],
    ['mysql', `${A}:1-10,${B}:maint:1-2`, [A, B], [A], `${B}:maint:1-2`],
  ];
  for (const [flavor, history, origins, primaries, errant] of cases) {
    it(`${flavor}: ${history || '(empty)'} with primaries ${primaries.join(' ')}`, () => {
      assert.deepEqual(gtidOrigins(flavor, history), origins);
      assert.equal(gtidErrant(flavor, history, primaries), errant);
    });
  }
});

describe('errantBinlogRange', () => {
  it("a diverged server's own events after the last of them the cluster holds, in each domain it diverged in", () => {
    assert.deepEqual(errantBinlogRange('0-3-12', '0-1-10,0-3-8', 3), { domains: [0], serverId: 3, startAfter: '0-3-8' });
    assert.deepEqual(errantBinlogRange('0-3-12', '0-1-10', 3), { domains: [0], serverId: 3, startAfter: '' });
  });

  it("a foreign domain it is ahead in (a shard channel still applied after the fence) selects none of the other cluster's events: they carry its server ids", () => {
    assert.deepEqual(errantBinlogRange('0-1-12,7-101-9', '0-1-10,0-2-11,7-101-5', 1), { domains: [0, 7], serverId: 1, startAfter: '0-1-10' });
  });
});

describe('a shard move\'s starting position (MariaDB)', () => {
  it('takes the copy\'s entry in each domain it names, even below the destination\'s own, and keeps the other domains', () => {
    // The destination writes in domain 0 (at 381); the source holds domain 0 only up to 300 (an earlier move the other way) and its own domain 2.
    assert.equal(withDomainsOf('0-1-381,2-201-50', '0-1-300,2-201-90'), '0-1-300,2-201-90');
    assert.equal(withDomainsOf('0-1-381,7-5-3', '2-201-90'), '0-1-381,2-201-90,7-5-3');
    assert.equal(withDomainsOf('', '2-201-90'), '2-201-90');
  });
});
