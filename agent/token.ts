import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A copy between two agents is authorised by a token each derives from the
 * key they share, the donor's address and the transfer's id: no secret
 * ever enters a task or workflow history, and a token is good only at the
 * donor it was made for. The donor serves each transfer id once.
 */
export function transferToken(keyFile: string, donor: string, transferId: string): string {
  return crypto.createHmac('sha256', fs.readFileSync(keyFile)).update(`${donor} ${transferId}`).digest('hex');
}

/** Why donor `server` refuses a transfer, or undefined: the token is the one the key gives it, and the id was never served. */
export function refuseTransfer(keyFile: string, server: string, ledgerDir: string, transferId: string, token: string): string | undefined {
  const expected = Buffer.from(transferToken(keyFile, server, transferId), 'hex');
  const given = Buffer.from(/^[0-9a-f]{64}$/.test(token) ? token : '', 'hex');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return `transfer ${transferId}: the token is not the one the agents' key gives`;
  if (servedTransfers(ledgerDir).has(transferId)) return `transfer ${transferId} was served already: a token is good for one copy`;
  fs.mkdirSync(ledgerDir, { recursive: true });
  fs.appendFileSync(ledgerPath(ledgerDir), `${transferId}\n`);
  return undefined;
}

function servedTransfers(ledgerDir: string): Set<string> {
  const file = ledgerPath(ledgerDir);
  return new Set(fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
}

const ledgerPath = (dir: string) => path.join(dir, 'served-transfers');
