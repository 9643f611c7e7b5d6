// examples/using.ts - TypeScript `using`: the context is deleted at the end of the block, even on
// an exception. Run: npx tsc -p tsconfig.json && node -r ./test/js/support/register.js examples/using.ts
import { MemoryContext, memoryStats } from '../lib';

function render(rows: number): number {
  using ctx = new MemoryContext({ name: 'render' });
  const line = ctx.allocUnsafe(64);
  let total = 0;
  for (let i = 0; i < rows; i++) {
    total += line.write(`row ${i}\n`);
  }
  const table = ctx.alloc(total); // zero-filled
  return table.length;
} // ctx[Symbol.dispose]() -> ctx.delete()

console.log(render(1000), 'bytes rendered; live contexts:', memoryStats().liveContexts);
