// lib/http.ts - ties a context's lifetime to a stream or an HTTP response: the context is deleted
// on 'finish' (every queued write has been handed to the OS) or 'close', so zero-copy writes
// never send freed memory.
import type { EventEmitter } from 'node:events';
import { MemoryContext, type MemoryContextOptions } from './context';
import { invalidArgType } from './errors';

/** A writable stream, socket or http.ServerResponse (anything emitting 'finish'/'close'). */
export type StreamLike = EventEmitter & {
  destroyed?: boolean;
  closed?: boolean;
  writableFinished?: boolean;
};

function validateStream(stream: unknown, name: string): asserts stream is StreamLike {
  if (stream === null || typeof stream !== 'object' || typeof (stream as EventEmitter).once !== 'function') {
    throw invalidArgType(name, 'a stream or http.ServerResponse (an EventEmitter)', stream);
  }
}

/**
 * Delete ctx when stream emits 'finish' or 'close' (whichever comes first), or at once (on the
 * next turn) when it has already finished or closed. Pins (ctx.pin()) still hold the memory for
 * I/O that outlives the stream. Returns ctx.
 */
export function bindToStream(ctx: MemoryContext, stream: StreamLike): MemoryContext {
  if (!(ctx instanceof MemoryContext)) throw invalidArgType('ctx', 'an instance of MemoryContext', ctx);
  validateStream(stream, 'stream');
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    stream.removeListener('finish', release);
    stream.removeListener('close', release);
    ctx.delete();
  };
  if (stream.writableFinished === true || stream.closed === true || stream.destroyed === true) {
    setImmediate(release);
  } else {
    stream.once('finish', release);
    stream.once('close', release);
  }
  return ctx;
}

/** A new context deleted when stream (or http.ServerResponse) finishes or closes. */
export function contextFor(stream: StreamLike, options?: MemoryContextOptions): MemoryContext {
  validateStream(stream, 'stream');
  return bindToStream(new MemoryContext(options), stream);
}

/** contextFor for an http.ServerResponse (same function; the name reads well in handlers). */
export const contextForResponse = contextFor;
