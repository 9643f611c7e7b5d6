// lib/http.ts - ties a context's lifetime to a stream or an HTTP response: the context is deleted
// on 'finish' (every queued write has been handed to the OS) or 'close', so zero-copy writes
// never send freed memory; streams whose 'finish' cannot promise that are refused.
import type { EventEmitter } from 'node:events';
import { WriteStream } from 'node:fs';
import { OutgoingMessage } from 'node:http';
import { Socket } from 'node:net';
import { MemoryContext, isMemoryContext, type MemoryContextOptions } from './context';
import { MemctxError, describe, invalidArgType } from './errors';

/** A writable stream, socket or http.ServerResponse (anything emitting 'finish'/'close'). */
export type StreamLike = EventEmitter & {
  destroyed?: boolean;
  closed?: boolean;
  writableFinished?: boolean;
};

// The contexts a stream will delete, kept on the stream itself under a symbol: undefined before the
// first bind, then the context(s) waiting for 'finish'/'close', or null once released. The two
// listeners are one shared function, attached once per stream: no closure, no once() wrapper and no
// removeListener per request (measured in bench/js/RESULTS.md, "response lifecycle"), and a
// released response no longer refers to its context.
const kBound = Symbol('memctx.boundContexts');
type BoundStream = StreamLike & { [kBound]?: MemoryContext | MemoryContext[] | null };

function releaseBound(this: BoundStream): void {
  const held = this[kBound];
  if (held === undefined || held === null) return;
  this[kBound] = null;
  if (!Array.isArray(held)) {
    held.delete();
    return;
  }
  // Every context goes even if a reset callback of one throws; the first error is rethrown.
  let failure: unknown = null;
  for (let i = 0; i < held.length; i++) {
    try {
      held[i]!.delete();
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== null) throw failure;
}

function deleteLater(ctx: MemoryContext): void {
  ctx.delete();
}

/**
 * Streams whose 'finish' means every written Buffer has left the process: a socket (TLS too), an
 * HTTP response or request (they write to a socket), a file stream. A Transform, PassThrough,
 * Duplex or any other Writable emits 'finish' once its own write callbacks ran, while the Buffers
 * may still sit in its readable side or in code it handed them to.
 */
function finishMeansWritten(stream: object): boolean {
  return stream instanceof Socket || stream instanceof OutgoingMessage || stream instanceof WriteStream;
}

function validateStream(stream: unknown, name: string, method: string): asserts stream is StreamLike {
  if (stream === null || typeof stream !== 'object' || typeof (stream as EventEmitter).once !== 'function') {
    throw invalidArgType(name, 'a stream or http.ServerResponse (an EventEmitter)', stream);
  }
  if (!finishMeansWritten(stream)) {
    throw new MemctxError(`${method}: the "${name}" argument must be a net.Socket, an http.ServerResponse or ` +
      `ClientRequest, or an fs.WriteStream, whose 'finish' means the data has left the process. Received ` +
      `${describe(stream)}, which can still hold the Buffers after 'finish'. Delete the context yourself once ` +
      'the whole pipeline has finished (withContext(() => stream.promises.pipeline(...)))', 'ERR_MEMCTX_UNSAFE_STREAM');
  }
}

/**
 * Delete ctx when stream emits 'finish' or 'close' (whichever comes first), or at once (on the
 * next turn) when it has already finished or closed. Pins (ctx.pin()) still hold the memory for
 * I/O that outlives the stream. Returns ctx.
 */
export function bindToStream(ctx: MemoryContext, stream: StreamLike): MemoryContext {
  if (!isMemoryContext(ctx)) throw invalidArgType('ctx', 'an instance of MemoryContext', ctx);
  validateStream(stream, 'stream', 'bindToStream');
  bind(ctx, stream);
  return ctx;
}

function bind(ctx: MemoryContext, stream: BoundStream): void {
  if (stream.writableFinished === true || stream.closed === true || stream.destroyed === true) {
    setImmediate(deleteLater, ctx);
    return;
  }
  const held = stream[kBound];
  if (held === undefined) {
    stream[kBound] = ctx;
    stream.on('finish', releaseBound);
    stream.on('close', releaseBound);
  } else if (held === null) {
    stream[kBound] = ctx; // released once already; the listeners are still attached
  } else if (Array.isArray(held)) {
    held.push(ctx);
  } else {
    stream[kBound] = [held, ctx];
  }
}

/** A new context deleted when stream (or http.ServerResponse) finishes or closes. */
export function contextFor(stream: StreamLike, options?: MemoryContextOptions): MemoryContext {
  validateStream(stream, 'stream', 'contextFor');
  const ctx = new MemoryContext(options);
  bind(ctx, stream);
  return ctx;
}

/** contextFor for an http.ServerResponse (same function; the name reads well in handlers). */
export const contextForResponse = contextFor;
