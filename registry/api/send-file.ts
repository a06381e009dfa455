import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { PositionalFile } from '../storage/driver.js';
import type { ByteRange } from '../storage/blob-store.js';

// Streaming a large blob through fs streams allocates a fresh 1 MiB buffer per read, and the
// garbage collector then runs the pull at a third of its speed until V8's heuristics settle.
// Here each response reads into recycled buffers, and a buffer goes back to the pool only
// once the socket has taken its bytes (the write callback), so none is ever overwritten early.

const CHUNK = 1 << 20;
/** Bytes one response may have written but not yet handed to the kernel. */
const IN_FLIGHT = 4;
/** Idle buffers kept between responses (the rest are left to the garbage collector). */
const POOL_CAP = 32;

const idle: Buffer[] = [];
const take = (): Buffer => idle.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const giveBack = (b: Buffer): void => {
  if (idle.length < POOL_CAP) idle.push(b);
};

/**
 * Sends `range` of `file` as the body of `reply`, whose status and headers are already set,
 * and closes the file. Takes the response over from Fastify (onResponse hooks still run on
 * finish). A read error mid-body destroys the connection: the client sees a short body, which
 * Content-Length makes detectable, rather than wrong bytes.
 */
export async function sendFile(reply: FastifyReply, file: PositionalFile, range: ByteRange): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  try {
    res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    await pump(res, file, range);
  } catch (err) {
    res.destroy(err as Error);
  } finally {
    await file.close();
  }
}

async function pump(res: ServerResponse, file: PositionalFile, { start, end }: ByteRange): Promise<void> {
  let slots = IN_FLIGHT;
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  res.once('close', signal);
  try {
    for (let position = start; position <= end && !res.destroyed; ) {
      if (slots === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const buf = take();
      const n = await file.read(buf, Math.min(CHUNK, end - position + 1), position);
      if (n === 0) throw new Error(`blob file ended at byte ${position} of ${end + 1}`);
      position += n;
      slots--;
      res.write(n === CHUNK ? buf : buf.subarray(0, n), (err) => {
        // After an error the socket may still hold the memory; let the collector have it.
        if (!err) giveBack(buf);
        slots++;
        signal();
      });
    }
    if (!res.destroyed) res.end();
  } finally {
    res.off('close', signal);
  }
}
