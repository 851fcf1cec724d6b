import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JoiningServer, joinProblems } from '../../workflows/logic/joining';

/** A server that may join a cluster of its flavor; cases break one setting at a time. */
const READY: JoiningServer = {
  address: 'db4:3306', flavor: 'mysql', serverId: 4, logBin: true, logReplicaUpdates: true, replicaUpdatesSetting: 'log_replica_updates',
  binlogFormat: 'ROW', gtidStrict: true, gtidSetting: 'gtid_mode and enforce_gtid_consistency',
};

describe('joinProblems', () => {
  it('a ready server of the cluster flavor with a server_id of its own may join', () => {
    assert.deepEqual(joinProblems(READY, 'mysql', [1, 2, 3]), []);
  });

  it('names each broken setting by the names the server reported', () => {
    const broken = { ...READY, logReplicaUpdates: false, gtidStrict: false };
    assert.deepEqual(joinProblems(broken, 'mysql', []), [
      'log_replica_updates is off (it could not serve as a source after a failover)',
      'gtid_mode and enforce_gtid_consistency must be ON',
    ]);
    const maria = { ...broken, flavor: 'mariadb' as const, replicaUpdatesSetting: 'log_slave_updates', gtidSetting: 'gtid_strict_mode' };
    assert.deepEqual(joinProblems(maria, 'mariadb', []), [
      'log_slave_updates is off (it could not serve as a source after a failover)',
      'gtid_strict_mode must be ON',
    ]);
  });

  it('another flavor, a server_id in use, no binlog, a non-ROW format: every problem is listed', () => {
    const server = { ...READY, serverId: 2, logBin: false, binlogFormat: 'MIXED' };
    assert.deepEqual(joinProblems(server, 'mariadb', [1, 2, 3]), [
      'it is mysql, the cluster is mariadb',
      'server_id 2 is already used in the cluster',
      'log_bin is off',
      'binlog_format is MIXED, not ROW',
    ]);
  });
});
