import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  STATUSES,
  TRANSITION_CAUSES,
  ServerStatus,
  TransitionCause,
  allowedTransitions,
  checkTransition,
} from '../../workflows/logic/status';

/** The matrix of DESIGN.md, written out independently of the code: from>to: causes ('!' = named only). */
const EXPECTED: Record<string, string[]> = {
  'PRIMARY>SECONDARY': ['promote', 'demote'],
  'PRIMARY>FAULTY': ['detected'],
  'SECONDARY>PRIMARY': ['promote'],
  'SECONDARY>SPARE': ['set-status'],
  'SECONDARY>FAULTY': ['detected', 'set-status'],
  'SPARE>PRIMARY': ['promote!'],
  'SPARE>SECONDARY': ['set-status', 'rejoin'],
  'SPARE>FAULTY': ['detected', 'set-status'],
  'FAULTY>SPARE': ['set-status', 'rejoin'],
};

function expectedAllowed(from: ServerStatus, to: ServerStatus, cause: TransitionCause, named: boolean): boolean {
  const causes = EXPECTED[`${from}>${to}`] ?? [];
  return causes.includes(cause) || (named && causes.includes(`${cause}!`));
}

describe('checkTransition walks the whole matrix', () => {
  for (const from of STATUSES) {
    for (const to of STATUSES) {
      for (const cause of TRANSITION_CAUSES) {
        for (const named of [false, true]) {
          const name = `${from} -> ${to} by ${cause}${named ? ' (named)' : ''}`;
          it(name, () => {
            const result = checkTransition(from, to, cause, { named });
            if (from === to) {
              assert.deepEqual(result, { ok: true, noop: true });
            } else if (expectedAllowed(from, to, cause, named)) {
              assert.deepEqual(result, { ok: true });
            } else {
              assert.equal(result.ok, false);
              assert.ok(!result.ok && result.reason.startsWith(`cannot change ${from} to ${to} by ${cause}: `), name);
              assert.ok(!result.ok && !result.reason.includes('\n'));
            }
          });
        }
      }
    }
  }
});

describe('refusal reasons', () => {
  const cases: Array<[ServerStatus, ServerStatus, TransitionCause, string]> = [
    ['SPARE', 'PRIMARY', 'promote', 'cannot change SPARE to PRIMARY by promote: a SPARE is promoted only when named explicitly'],
    ['FAULTY', 'PRIMARY', 'promote', 'cannot change FAULTY to PRIMARY by promote: FAULTY can only become SPARE'],
    ['PRIMARY', 'SPARE', 'set-status', 'cannot change PRIMARY to SPARE by set-status: PRIMARY can only become SECONDARY or FAULTY'],
    ['PRIMARY', 'FAULTY', 'set-status', 'cannot change PRIMARY to FAULTY by set-status: only by detected'],
    ['SECONDARY', 'PRIMARY', 'rejoin', 'cannot change SECONDARY to PRIMARY by rejoin: only by promote'],
    ['FAULTY', 'SPARE', 'detected', 'cannot change FAULTY to SPARE by detected: only by set-status or rejoin'],
  ];
  for (const [from, to, cause, reason] of cases) {
    it(reason, () => assert.deepEqual(checkTransition(from, to, cause), { ok: false, reason }));
  }
});

describe('allowedTransitions', () => {
  it('lists exactly the allowed triples of the matrix', () => {
    const listed = allowedTransitions()
      .map((t) => `${t.from}>${t.to}:${t.cause}${t.namedOnly ? '!' : ''}`)
      .sort();
    const expected = Object.entries(EXPECTED)
      .flatMap(([pair, causes]) => causes.map((cause) => `${pair}:${cause}`))
      .sort();
    assert.deepEqual(listed, expected);
  });

  it('returns copies the caller cannot use to change the rules', () => {
    allowedTransitions()[0].from = 'FAULTY';
    assert.equal(allowedTransitions()[0].from, 'PRIMARY');
  });
});
