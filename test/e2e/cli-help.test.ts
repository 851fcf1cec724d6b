import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gtidflow } from '../harness/cli';

/** Help needs no sandbox: `gtidflow --help`, and each command's own usage, from the one USAGE text. */

/** `gtidflow --help`'s entries: a line naming a command, with the lines that continue it. */
async function entries(): Promise<string[][]> {
  const help = await gtidflow(['--help']);
  assert.equal(help.code, 0, help.stderr);
  const out: string[][] = [];
  for (const line of help.stdout.trimEnd().split('\n').slice(1)) {
    if (/^ {2}\S/.test(line)) out.push([line.trim()]);
    else out[out.length - 1].push(line.trim());
  }
  return out;
}

/** A command's usage as printed, without the layout: its entries' text, continuation lines included. */
const textOf = (stdout: string) => stdout.trimEnd().split('\n').map((l) => l.replace(/^(usage: | {7})gtidflow /, '').trim());

test('gtidflow --help and gtidflow help list every command; gtidflow alone lists them and exits 2', async () => {
  const help = await gtidflow(['--help']);
  const bare = await gtidflow(['help']);
  const none = await gtidflow([]);
  assert.equal(bare.code, 0);
  assert.equal(bare.stdout, help.stdout);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, help.stdout);
  const commands = new Set((await entries()).map((e) => e[0].split(' ')[0]));
  assert.deepEqual([...commands].sort(), ['ack', 'agent', 'capability', 'cluster', 'demote', 'failover', 'help', 'history', 'inspect', 'promote', 'rejoin',
    'sandbox', 'server', 'shard', 'status', 'version', 'worker'].sort());
});

test('<command> --help, -h and help <command> print that command\'s lines of the usage, exit 0', async () => {
  const all = await entries();
  for (const command of new Set(all.map((e) => e[0].split(' ')[0]))) {
    const expected = all.filter((e) => e[0].split(' ')[0] === command).flat();
    const forms = [[command, '--help'], ['help', command], ...(command === 'status' ? [[command, '-h']] : [])];
    const results = await Promise.all(forms.map((args) => gtidflow(args)));
    for (const [i, result] of results.entries()) {
      assert.equal(result.code, 0, `${forms[i].join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^usage: gtidflow ${command}`), forms[i].join(' '));
      assert.deepEqual(textOf(result.stdout), expected, forms[i].join(' '));
    }
  }
});

test('a subcommand\'s --help narrows to its own entry; --help anywhere on the line, even with other arguments', async () => {
  const add = await gtidflow(['server', 'add', '--help']);
  assert.equal(add.code, 0);
  assert.equal(textOf(add.stdout)[0].split(' <')[0], 'server add');
  assert.deepEqual(textOf(add.stdout), (await entries()).find((e) => e[0].startsWith('server add ')));
  const status = await gtidflow(['status', 'sandbox', '--watch', '--help']);
  assert.equal(status.code, 0);
  assert.match(status.stdout, /^usage: gtidflow status <cluster> \[--json\] \[--watch\]/);
  assert.match(status.stdout, /--watch redraws it every second/);
  const up = await gtidflow(['help', 'sandbox', 'up']);
  assert.deepEqual(textOf(up.stdout).length, 1);
});

test('help for a command that does not exist: one line on stderr, exit 2', async () => {
  for (const args of [['help', 'frobnicate'], ['frobnicate', '--help']]) {
    const result = await gtidflow(args);
    assert.equal(result.code, 2, args.join(' '));
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trim(), 'gtidflow: unknown command "frobnicate" (gtidflow --help lists the commands)');
  }
});
