import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { AGENT_PROTOCOL } from '../workflows/api';
import type { AgentConfig } from './config';
import { dataFrame, endFrame, Unframer } from './frames';
import { clientToolArgs } from './mariadbd';
import { refuseTransfer } from './token';

/** What a target sends first: which transfer, its token, the protocol it speaks. */
interface TransferRequest {
  transferId: string;
  token: string;
  protocol: number;
}

/**
 * The donor side: a TCP listener other agents connect to for a copy. Each
 * accepted transfer streams a fresh `mariadb-backup --backup
 * --stream=mbstream` of the local server, in frames (agent/frames.ts).
 */
export function serveTransfers(config: AgentConfig): Promise<net.Server> {
  const server = net.createServer((socket) => void serveOne(config, socket).catch(() => socket.destroy()));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.transfer.port, config.transfer.host, () => resolve(server));
  });
}

async function serveOne(config: AgentConfig, socket: net.Socket): Promise<void> {
  socket.on('error', () => undefined);
  const { line } = await readLine(socket);
  const request = JSON.parse(line) as TransferRequest;
  const refusal = request.protocol !== AGENT_PROTOCOL
    ? `this agent speaks protocol ${AGENT_PROTOCOL}, the transfer ${request.protocol}: run agents of one release`
    : refuseTransfer(config.keyFile, config.server, config.workDir, String(request.transferId), String(request.token));
  if (refusal) {
    socket.end(`ERR ${refusal}\n`);
    return;
  }
  socket.write('OK\n');
  const scratch = fs.mkdtempSync(path.join(config.workDir, 'backup-'));
  const backup = spawn('mariadb-backup', [...clientToolArgs(config), '--backup', '--stream=mbstream', `--datadir=${config.datadir}`, `--target-dir=${scratch}`,
    ...(config.throttle ? [`--throttle=${config.throttle}`] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  backup.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  socket.on('close', () => backup.kill('SIGKILL'));
  backup.stdout.on('data', (chunk: Buffer) => {
    if (!socket.write(dataFrame(chunk))) {
      backup.stdout.pause();
      socket.once('drain', () => backup.stdout.resume());
    }
  });
  const code = await new Promise<number | null>((resolve) => backup.on('close', resolve));
  fs.rmSync(scratch, { recursive: true, force: true });
  const lastLines = stderr.trim().split('\n').slice(-2).join(' ');
  socket.end(endFrame(code === 0 ? { ok: true } : { ok: false, error: `mariadb-backup exited ${code}: ${lastLines}` }));
}

/** The first line a peer sends, and what came after it in the same reads (put back). */
function readLine(socket: net.Socket): Promise<{ line: string }> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const end = seen.indexOf('\n');
      if (end < 0) {
        if (seen.length > 4096) fail(new Error('no line within 4096 bytes'));
        return;
      }
      socket.off('data', onData).off('error', fail).off('end', ended);
      socket.pause();
      const rest = seen.subarray(end + 1);
      if (rest.length) socket.unshift(rest);
      resolve({ line: seen.subarray(0, end).toString() });
    };
    const fail = (err: Error) => {
      socket.off('data', onData);
      reject(err);
    };
    const ended = () => fail(new Error('the connection closed before a line'));
    socket.on('data', onData).once('error', fail).once('end', ended);
  });
}

/** Why a copy failed: `refused` when the donor refused it (bad token, a replay, another protocol), not worth a retry. */
export class CopyFailed extends Error {
  constructor(message: string, readonly refused: boolean) {
    super(message);
  }
}

/**
 * The target side: asks the donor's agent for a copy and extracts it into
 * `into` with mbstream. Resolves with the bytes received once the donor
 * said its backup finished and mbstream wrote everything.
 */
export async function receiveCopy(args: {
  donor: { host: string; port: number }; transferId: string; token: string; into: string; onBytes: (bytes: number) => void; signal: AbortSignal;
}): Promise<number> {
  const socket = net.connect(args.donor);
  const abort = () => socket.destroy(new Error('cancelled'));
  args.signal.addEventListener('abort', abort);
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(`${JSON.stringify({ transferId: args.transferId, token: args.token, protocol: AGENT_PROTOCOL })}\n`);
    const { line } = await readLine(socket);
    if (line !== 'OK') throw new CopyFailed(`the donor's agent refused the copy: ${line.replace(/^ERR /, '')}`, true);
    const unframe = new Unframer();
    const extract = spawn('mbstream', ['-x', '-C', args.into], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    extract.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    let bytes = 0;
    unframe.on('data', (chunk: Buffer) => args.onBytes((bytes += chunk.length)));
    socket.on('error', (err) => unframe.destroy(err));
    unframe.on('error', () => extract.kill('SIGKILL'));
    socket.pipe(unframe).pipe(extract.stdin);
    extract.stdin.on('error', () => undefined);
    socket.resume();
    const code = await new Promise<number | null>((resolve) => extract.on('close', resolve));
    if (!unframe.copyEnd) throw new CopyFailed(`the copy from ${args.donor.host}:${args.donor.port} was cut short after ${bytes} bytes`, false);
    if (!unframe.copyEnd.ok) throw new CopyFailed(`the donor's backup failed: ${unframe.copyEnd.error}`, false);
    if (code !== 0) throw new CopyFailed(`mbstream exited ${code}: ${stderr.trim().split('\n').slice(-2).join(' ')}`, false);
    return bytes;
  } finally {
    args.signal.removeEventListener('abort', abort);
    socket.destroy();
  }
}
