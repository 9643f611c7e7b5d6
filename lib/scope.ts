// lib/scope.ts - withContext(): a context whose lifetime is one function call or promise.
import { MemoryContext, type MemoryContextOptions } from './context';
import { validateFunction } from './validate';

/**
 * Run fn with a fresh context and delete the context once the returned promise settles (or fn
 * returns or throws). Buffers of the context must not escape fn: copy what you keep. Invalid
 * arguments throw synchronously.
 */
export function withContext<T>(fn: (ctx: MemoryContext) => T | PromiseLike<T>, options?: MemoryContextOptions): Promise<Awaited<T>> {
  validateFunction(fn, 'fn');
  const ctx = new MemoryContext(options);
  return run(ctx, fn);
}

async function run<T>(ctx: MemoryContext, fn: (ctx: MemoryContext) => T | PromiseLike<T>): Promise<Awaited<T>> {
  try {
    return await fn(ctx);
  } finally {
    ctx.delete();
  }
}
