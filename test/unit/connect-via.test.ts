import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectTarget } from '../../activities/db/connect-via';

test('connectTarget: a recorded address maps to where this worker reaches it, others stay', () => {
  const via = 'db1:3306=127.0.0.1:13306, db2:3306=tunnel:4000';
  assert.deepEqual(connectTarget('db1:3306', via), { host: '127.0.0.1', port: 13306 });
  assert.deepEqual(connectTarget('db2:3306', via), { host: 'tunnel', port: 4000 });
  assert.deepEqual(connectTarget('db3:3306', via), { host: 'db3', port: 3306 });
  assert.deepEqual(connectTarget('db3:3306', ''), { host: 'db3', port: 3306 });
  assert.throws(() => connectTarget('db1:3306', 'db1:3306'), /not recorded=reachable/);
  assert.throws(() => connectTarget('db1:3306', 'db1:3306=nonsense'), /invalid server address/);
});
