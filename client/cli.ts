import { parseArgs } from 'node:util';
import { connectClient } from './connect';
import { findClusterSpec } from './clusters';
import { formatInspection, inspectCluster } from './inspect';
import { sandboxDown } from './sandbox/down';
import { sandboxStatus } from './sandbox/status';
import { sandboxUp } from './sandbox/up';
import { loadState } from './sandbox/state';
import { temporalSettings } from './settings';

const USAGE = `usage: gtidflow <command>
  sandbox up [--servers N] [--json]   start the local sandbox (Temporal, MariaDB cluster "sandbox", HAProxy, worker)
  sandbox down                        stop every process of the sandbox (data is kept)
  sandbox status [--json]             the sandbox's processes, roles and pids
  inspect <cluster> [--json]          read every server of a cluster through a workflow
  worker                              run the gtidflow worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)`;

/** A mistake in the command line: usage is printed, exit code 2. */
class UsageError extends Error {}

function options(args: string[], spec: Record<string, { type: 'string' | 'boolean' }>) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The Temporal server of this installation: TEMPORAL_ADDRESS, else the sandbox's own. */
function installationSettings() {
  const state = loadState();
  const t = state?.temporal;
  return temporalSettings(t && 'port' in t ? `127.0.0.1:${t.port}` : t?.external);
}

const print = (value: unknown, json: boolean, text: () => string) =>
  console.log(json ? JSON.stringify(value, null, 2) : text());

const commands: Record<string, (args: string[]) => Promise<void>> = {
  async sandbox(args) {
    const { values, positionals } = options(args, { servers: { type: 'string' }, json: { type: 'boolean' } });
    const [sub, ...rest] = positionals;
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (sub === 'up') {
      const servers = Number(values.servers ?? 3);
      if (!Number.isInteger(servers) || servers < 1 || servers > 9) throw new UsageError(`--servers must be a whole number from 1 to 9, not "${values.servers}"`);
      const endpoints = await sandboxUp({ servers });
      print(endpoints, Boolean(values.json), () => [
        `Temporal   ${endpoints.temporal.address}   Web UI ${endpoints.temporal.ui ?? '(external server)'}`,
        ...endpoints.clusters.map((c) => `cluster ${c.name}: writer ${c.writer.host}:${c.writer.port}, reader ${c.reader.host}:${c.reader.port}, servers ${c.servers.map((s) => `${s.host}:${s.port}`).join(' ')}`),
        `admin account ${endpoints.credentials.admin.user} (password in ${endpoints.credentials.admin.passwordFile})`,
        `app account ${endpoints.credentials.app.user} (password in ${endpoints.credentials.app.passwordFile})`,
      ].join('\n'));
    } else if (sub === 'down') {
      const stopped = await sandboxDown();
      console.log(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
    } else if (sub === 'status') {
      const processes = sandboxStatus();
      print(processes, Boolean(values.json), () =>
        processes.length ? processes.map((p) => `${p.role.padEnd(8)} ${String(p.pid ?? '-').padEnd(8)} ${p.running ? 'running' : 'stopped'} ${p.address ?? ''}`.trimEnd()).join('\n') : 'no sandbox here');
    } else {
      throw new UsageError(sub ? `unknown sandbox command "${sub}"` : 'sandbox needs a command: up, down or status');
    }
  },

  async inspect(args) {
    const { values, positionals } = options(args, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('inspect takes one cluster name');
    const spec = findClusterSpec(positionals[0]);
    const client = await connectClient(installationSettings());
    try {
      const result = await inspectCluster(client, spec);
      print(result, Boolean(values.json), () => formatInspection(result));
    } finally {
      await client.connection.close();
    }
  },

  async worker(args) {
    options(args, {});
    const settings = installationSettings();
    // Fail fast with one line when the server is not there, before the SDK's own retries.
    await (await connectClient(settings)).connection.close();
    // Loaded only here: the worker SDK and its native core are slow to load for other commands.
    const { runWorker } = require('../worker/main') as typeof import('../worker/main');
    await runWorker(settings);
  },
};

export async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  try {
    if (!name || name === '--help' || name === 'help') {
      console.log(USAGE);
      if (!name) process.exitCode = 2;
      return;
    }
    const command = commands[name];
    if (!command) throw new UsageError(`unknown command "${name}"`);
    await command(args);
  } catch (err) {
    const hint = err instanceof UsageError ? ' (gtidflow --help lists the commands)' : '';
    console.error(`gtidflow: ${(err as Error).message.split('\n')[0]}${hint}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
