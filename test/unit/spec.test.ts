import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPath, parseClusterSpec, specAccess } from '../../client/spec';

/** A valid spec, one field a line, so that each case can break one line of it. */
const VALID = [
  'name: shop', //                                              1
  'servers:', //                                                2
  '  - { address: db1.example:3306, status: PRIMARY }', //      3
  '  - address: db2.example:3306', //                           4
  '    status: SECONDARY', //                                   5
  '    penalty: 0', //                                          6
  '  - { address: db3.example:3306, status: SPARE }', //        7
  'credentials:', //                                            8
  '  admin: { user: gtidflow, passwordFile: /etc/gtidflow/admin.password }', // 9
  '  replication: { user: repl, passwordEnv: GTIDFLOW_REPL_PASSWORD }', //       10
  'policies: { failover: auto, probeIntervalMs: 1000 }', //     11
].join('\n');

/** The valid spec with line n (1-based) replaced. */
const withLine = (n: number, text: string) => VALID.split('\n').map((l, i) => (i === n - 1 ? text : l)).join('\n');

const errorOf = (text: string): string => {
  try {
    parseClusterSpec(text, 'spec.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  return assert.fail('the spec was accepted');
};

describe('parseClusterSpec', () => {
  it('accepts the valid spec with its defaults', () => {
    const spec = parseClusterSpec(VALID, 'spec.yaml');
    assert.equal(spec.name, 'shop');
    assert.deepEqual(spec.servers.map((s) => [s.address, s.status, s.penalty]), [
      ['db1.example:3306', 'PRIMARY', 0], ['db2.example:3306', 'SECONDARY', 0], ['db3.example:3306', 'SPARE', 0],
    ]);
  });

  // Each case: the broken line, what it says, the one-line error naming the file's line and the field.
  const cases: [string, number, string, string][] = [
    ['a status that is not one', 5, '    status: MASTER',
      'spec.yaml line 5: servers[1].status: must be PRIMARY, SECONDARY, SPARE or FAULTY, not "MASTER"'],
    ['a status in a flow mapping', 7, '  - { address: db3.example:3306, status: spare }',
      'spec.yaml line 7: servers[2].status: must be PRIMARY, SECONDARY, SPARE or FAULTY, not "spare"'],
    ['a negative penalty', 6, '    penalty: -1', 'spec.yaml line 6: servers[1].penalty: must be ≥ 0, not -1'],
    ['a penalty that is no number', 6, '    penalty: high', 'spec.yaml line 6: servers[1].penalty: must be a number, not "high"'],
    ['an address without a port', 4, '  - address: db2.example', 'spec.yaml line 4: servers[1].address: must be host:port'],
    ['a misspelt field', 6, '    penalti: 0', 'spec.yaml line 6: servers[1].penalti: unknown field: expected address, status or penalty'],
    ['a missing address: the item\'s line', 7, '  - { status: SPARE }', 'spec.yaml line 7: servers[2].address: missing'],
    ['two passwords', 10, '  replication: { user: repl, passwordEnv: X, passwordFile: /x }',
      'spec.yaml line 10: credentials.replication: give exactly one of passwordFile or passwordEnv (the password itself never goes in a spec)'],
    ['a missing account: the enclosing key\'s line', 10, '  other: { user: repl, passwordEnv: X }',
      'spec.yaml line 8: credentials.replication: missing; line 10: credentials.other: unknown field: expected admin or replication'],
    ['a policy out of range', 11, 'policies: { probeIntervalMs: 10 }', 'spec.yaml line 11: policies.probeIntervalMs: must be ≥ 100, not 10'],
    ['a policy choice', 11, 'policies: { failover: always }', 'spec.yaml line 11: policies.failover: must be auto, notify or off, not "always"'],
    ['semiSync neither off nor a mapping', 11, 'policies: { semiSync: on }', 'spec.yaml line 11: policies.semiSync: must be off or a mapping, not "on"'],
    ['semiSync with a bad wait point', 11, 'policies: { semiSync: { waitPoint: LATER } }',
      'spec.yaml line 11: policies.semiSync.waitPoint: must be AFTER_SYNC or AFTER_COMMIT, not "LATER"'],
    ['a bad name', 1, 'name: Shop!', 'spec.yaml line 1: name: must be lower-case letters, digits, - and _ (at most 63, starting with a letter or digit)'],
    ['two primaries', 7, '  - { address: db3.example:3306, status: PRIMARY }', 'spec.yaml line 2: servers: exactly one server must be PRIMARY (found 2)'],
    ['a server listed twice', 7, '  - { address: db1.example:3306, status: SPARE }',
      'spec.yaml line 7: servers[2].address: db1.example:3306 is listed twice (also servers[0])'],
  ];
  for (const [name, line, text, expected] of cases) it(name, () => assert.equal(errorOf(withLine(line, text)), expected));

  it('names every problem, in the order of the file, on one line', () => {
    const text = withLine(5, '    status: MASTER').replace('penalty: 0', 'penalty: -2').replace('name: shop', 'name: shop\nzone: eu');
    const message = errorOf(text);
    assert.equal(message, 'spec.yaml line 2: zone: unknown field: expected name, servers, credentials, tls, agents, hooks, policies or router; ' +
      'line 6: servers[1].status: must be PRIMARY, SECONDARY, SPARE or FAULTY, not "MASTER"; line 7: servers[1].penalty: must be ≥ 0, not -2');
    assert.doesNotMatch(message, /\n/);
  });

  it('malformed YAML: the line and what the parser says, one line', () => {
    assert.equal(errorOf(withLine(6, '    penalty 0')), 'spec.yaml line 6: not valid YAML: Implicit map keys need to be followed by map values');
    assert.equal(errorOf(withLine(1, 'name: shop\nname: other')), 'spec.yaml line 2: not valid YAML: Map keys must be unique');
    assert.equal(errorOf('name: a\nservers:\n\t- x\n'), 'spec.yaml line 3: not valid YAML: Tabs are not allowed as indentation');
  });

  it('a file that is not a mapping, or empty', () => {
    assert.equal(errorOf(''), 'spec.yaml line 1: the spec must be a mapping with name, servers and credentials');
    assert.equal(errorOf('- a\n- b\n'), 'spec.yaml line 1: the spec must be a mapping with name, servers and credentials');
  });

  describe('tls: files by path, never their contents', () => {
    /** The valid spec with a tls section from line 12 on. */
    const withTls = (...lines: string[]) => [VALID, 'tls:', ...lines].join('\n');
    const TLS = [
      '  caFile: /etc/gtidflow/ca.pem', //                     13
      '  certFile: /etc/gtidflow/client.pem', //               14
      '  keyFile: /etc/gtidflow/client.key', //                15
      '  replication: { caFile: /etc/mysql/ca.pem }', //       16
    ];

    it('accepts the worker\'s files and the database hosts\' CA; the access carries them, the credentials stay as they were', () => {
      const spec = parseClusterSpec(withTls(...TLS), 'spec.yaml');
      const tls = {
        caFile: '/etc/gtidflow/ca.pem', certFile: '/etc/gtidflow/client.pem', keyFile: '/etc/gtidflow/client.key',
        replication: { caFile: '/etc/mysql/ca.pem' },
      };
      assert.deepEqual(spec.tls, tls);
      assert.deepEqual(specAccess(spec), { ...spec.credentials, tls });
      assert.deepEqual(specAccess(parseClusterSpec(VALID, 'spec.yaml')), parseClusterSpec(VALID, 'spec.yaml').credentials);
      assert.deepEqual(parseClusterSpec(withTls(TLS[0]), 'spec.yaml').tls, { caFile: '/etc/gtidflow/ca.pem' });
    });

    it('refuses a PEM written inline, without echoing it', () => {
      const message = errorOf(withTls(TLS[0], '  certFile: /etc/gtidflow/client.pem', '  keyFile: |',
        '    -----BEGIN PRIVATE KEY-----', '    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg', '    -----END PRIVATE KEY-----'));
      assert.equal(message, 'spec.yaml line 15: tls.keyFile: must be the path of a PEM file, not its contents (certificates and keys never go in a spec)');
      assert.equal(errorOf(withTls('  caFile: "-----BEGIN CERTIFICATE----- MIIB"')),
        'spec.yaml line 13: tls.caFile: must be the path of a PEM file, not its contents (certificates and keys never go in a spec)');
    });

    const cases: [string, string[], string][] = [
      ['a relative path', ['  caFile: ca.pem'], 'spec.yaml line 13: tls.caFile: must be an absolute path'],
      ['a certificate without its key', TLS.slice(0, 2), 'spec.yaml line 12: tls: give certFile and keyFile together, or neither'],
      ['the replication CA missing', [TLS[0], '  replication: { certFile: /c.pem, keyFile: /k.pem }'], 'spec.yaml line 14: tls.replication.caFile: missing'],
      ['a misspelt field', ['  ca: /etc/gtidflow/ca.pem'],
        'spec.yaml line 12: tls.caFile: missing; line 13: tls.ca: unknown field: expected caFile, certFile, keyFile or replication'],
    ];
    for (const [name, lines, expected] of cases) it(name, () => assert.equal(errorOf(withTls(...lines)), expected));
  });

  it('formatPath writes list indexes in brackets', () => {
    assert.equal(formatPath(['servers', 1, 'status']), 'servers[1].status');
    assert.equal(formatPath([]), '');
  });
});
