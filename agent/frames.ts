import { Transform, TransformCallback } from 'node:stream';

/**
 * A copy's bytes between two agents, in frames: data frames, then one end
 * frame saying whether the donor's backup finished. A connection that
 * closes without the end frame is a copy cut short, never a complete one.
 */
const DATA = 0x44;
const END = 0x45;
const HEADER = 5;

export interface CopyEnd {
  ok: boolean;
  error?: string;
}

export function dataFrame(chunk: Buffer): Buffer {
  return Buffer.concat([header(DATA, chunk.length), chunk]);
}

export function endFrame(end: CopyEnd): Buffer {
  const body = Buffer.from(JSON.stringify(end));
  return Buffer.concat([header(END, body.length), body]);
}

function header(type: number, length: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(length, 1);
  return h;
}

/** Turns frames back into the copy's bytes; `copyEnd` is set once the end frame arrived. */
export class Unframer extends Transform {
  copyEnd: CopyEnd | undefined;
  private pending: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= HEADER) {
      const type = this.pending.readUInt8(0);
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < HEADER + length) break;
      const body = this.pending.subarray(HEADER, HEADER + length);
      this.pending = this.pending.subarray(HEADER + length);
      if (type === DATA && !this.copyEnd) this.push(body);
      else if (type === END && !this.copyEnd) this.copyEnd = JSON.parse(body.toString()) as CopyEnd;
      else return done(new Error(`a frame of unknown type ${type} in the copy`));
    }
    done();
  }
}
