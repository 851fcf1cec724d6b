import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registeredPrimaries } from '../../workflows/logic/views';

const server = (originId: string, history: string, executed = history) => ({ originId, history, executed });

describe('registeredPrimaries', () => {
  it('the primary, its history, and origins two members share; a replica\'s own write is not one', () => {
    const primary = server('1', '0-1-100,0-2-40');
    assert.deepEqual(registeredPrimaries('mariadb', primary), ['1', '2']);
    // The primary's binlog was reset: server 5 (an old primary) is named only by the replicas, both of them.
    const reset = server('1', '0-1-100');
    const members = [server('2', '0-1-100,0-5-30'), server('3', '0-1-100,0-5-30,1-3-2')];
    assert.deepEqual(registeredPrimaries('mariadb', reset, members), ['1', '5']);
  });

  it('a dump-provisioned primary has its history in gtid_slave_pos (executed) only', () => {
    assert.deepEqual(registeredPrimaries('mariadb', server('4', '', '0-1-100')), ['1', '4']);
  });
});
