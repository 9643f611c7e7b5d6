// test/reliability/bad-input.test.ts - owns the bad-input matrix: every public function of the
// facade x each kind of bad argument (negative, fractional, NaN, Infinity, too large, wrong type,
// deleted context, foreign Buffer), one test per row, each asserting the error class, its code and
// that the message names the argument (or the context). The same table is the one in
// docs/RELIABILITY.md: the last test fails when the two differ (print the table with
// MEMCTX_PRINT_BAD_INPUT_TABLE=1 to update the document).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  MAX_ALLOC_BYTES, MemctxError, MemoryContext, bindToStream, configure, contextFor, getConfiguration, testing, withContext,
} from '../../lib';

type Kind = 'negative' | 'fractional' | 'NaN' | 'Infinity' | 'too large' | 'wrong type' | 'deleted context' | 'foreign Buffer';
type Expected = 'RangeError ERR_OUT_OF_RANGE' | 'TypeError ERR_INVALID_ARG_TYPE' | 'TypeError ERR_INVALID_ARG_VALUE' |
  'MemctxError ERR_MEMCTX_DELETED';

interface Env {
  ctx: MemoryContext;
  deleted: MemoryContext;
  foreign: Buffer;
  mine: Buffer;
}
interface Row {
  fn: string;
  arg: string;
  kind: Kind;
  value: string;
  call: (e: Env) => unknown;
  expected: Expected;
  /** Text the message must contain (the argument's name, or the context's). */
  names: string;
}

const TOO_LARGE_SIZE = MAX_ALLOC_BYTES + 1;
const SIZE_KINDS: Array<[Kind, unknown, string, Expected]> = [
  ['negative', -1, '-1', 'RangeError ERR_OUT_OF_RANGE'],
  ['fractional', 1.5, '1.5', 'RangeError ERR_OUT_OF_RANGE'],
  ['NaN', NaN, 'NaN', 'RangeError ERR_OUT_OF_RANGE'],
  ['Infinity', Infinity, 'Infinity', 'RangeError ERR_OUT_OF_RANGE'],
  ['too large', TOO_LARGE_SIZE, 'MAX_ALLOC_BYTES + 1', 'RangeError ERR_OUT_OF_RANGE'],
  ['wrong type', '16', "'16'", 'TypeError ERR_INVALID_ARG_TYPE'],
];
/** Option fields take sizes up to 2^40 (chunk sizes, top chunks) or MAX_SAFE_INTEGER (limits). */
function optionKinds(tooLarge: number, tooLargeText: string): Array<[Kind, unknown, string, Expected]> {
  return SIZE_KINDS.map(([k, v, t, e]) => (k === 'too large' ? [k, tooLarge, tooLargeText, e] : [k, v, t, e]));
}

const rows: Row[] = [];
function sizeRows(fn: string, arg: string, call: (e: Env, v: unknown) => unknown, kinds = SIZE_KINDS, names = `"${arg}"`): void {
  for (const [kind, value, text, expected] of kinds) rows.push({ fn, arg, kind, value: text, call: (e) => call(e, value), expected, names });
}
function deletedRow(fn: string, call: (e: Env) => unknown): void {
  rows.push({ fn, arg: 'this', kind: 'deleted context', value: 'after delete()', call, expected: 'MemctxError ERR_MEMCTX_DELETED', names: '"gone"' });
}
function foreignRow(fn: string, call: (e: Env) => unknown): void {
  rows.push({ fn, arg: 'buf', kind: 'foreign Buffer', value: "another context's Buffer", call, expected: 'TypeError ERR_INVALID_ARG_VALUE', names: '"buf"' });
}
function typeRow(fn: string, arg: string, text: string, call: (e: Env) => unknown): void {
  rows.push({ fn, arg, kind: 'wrong type', value: text, call, expected: 'TypeError ERR_INVALID_ARG_TYPE', names: `"${arg}"` });
}

/* eslint-disable @typescript-eslint/no-explicit-any -- bad input is the point of this file */
// new MemoryContext(options)
for (const field of ['initialSize', 'maxChunkSize'] as const) {
  sizeRows('new MemoryContext(options)', `options.${field}`, (_e, v) => new MemoryContext({ [field]: v } as any), optionKinds(2 ** 40 + 1, '2^40 + 1'));
}
sizeRows('new MemoryContext(options)', 'options.limit', (_e, v) => new MemoryContext({ limit: v } as any), optionKinds(2 ** 53, '2^53'));
typeRow('new MemoryContext(options)', 'options', "'big'", () => new MemoryContext('big' as any));
typeRow('new MemoryContext(options)', 'options.name', '42', () => new MemoryContext({ name: 42 } as any));
typeRow('new MemoryContext(options)', 'options.parent', '{}', () => new MemoryContext({ parent: {} } as any));
rows.push({ fn: 'new MemoryContext(options)', arg: 'options.parent', kind: 'deleted context', value: 'a deleted parent',
  call: (e) => new MemoryContext({ parent: e.deleted }), expected: 'MemctxError ERR_MEMCTX_DELETED', names: '"gone"' });
// ctx.alloc / ctx.allocUnsafe
sizeRows('ctx.alloc(size)', 'size', (e, v) => e.ctx.alloc(v as number));
typeRow('ctx.alloc(size, fill)', 'fill', '{}', (e) => e.ctx.alloc(16, {} as any));
deletedRow('ctx.alloc(size)', (e) => e.deleted.alloc(16));
sizeRows('ctx.allocUnsafe(size)', 'size', (e, v) => e.ctx.allocUnsafe(v as number));
deletedRow('ctx.allocUnsafe(size)', (e) => e.deleted.allocUnsafe(16));
// ctx.free / ctx.realloc
typeRow('ctx.free(buf)', 'buf', "'abc'", (e) => e.ctx.free('abc' as any));
foreignRow('ctx.free(buf)', (e) => e.ctx.free(e.foreign));
deletedRow('ctx.free(buf)', (e) => e.deleted.free(e.mine));
sizeRows('ctx.realloc(buf, size)', 'size', (e, v) => e.ctx.realloc(e.ctx.alloc(8), v as number));
typeRow('ctx.realloc(buf, size)', 'buf', 'null', (e) => e.ctx.realloc(null as any, 8));
foreignRow('ctx.realloc(buf, size)', (e) => e.ctx.realloc(e.foreign, 8));
deletedRow('ctx.realloc(buf, size)', (e) => e.deleted.realloc(e.mine, 8));
// lifetime
sizeRows('ctx.createChild(options)', 'options.initialSize', (e, v) => e.ctx.createChild({ initialSize: v as number }), optionKinds(2 ** 40 + 1, '2^40 + 1'));
deletedRow('ctx.createChild(options)', (e) => e.deleted.createChild());
typeRow('ctx.onReset(callback)', 'callback', "'f'", (e) => e.ctx.onReset('f' as any));
deletedRow('ctx.onReset(callback)', (e) => e.deleted.onReset(() => {}));
deletedRow('ctx.reset()', (e) => e.deleted.reset());
deletedRow('ctx.stats()', (e) => e.deleted.stats());
deletedRow('ctx.check()', (e) => e.deleted.check());
deletedRow('ctx.pin()', (e) => e.deleted.pin());
// helpers
typeRow('withContext(fn, options)', 'fn', '42', () => withContext(42 as any));
sizeRows('withContext(fn, options)', 'options.limit', (_e, v) => withContext(() => 0, { limit: v as number }), optionKinds(2 ** 53, '2^53'));
typeRow('contextFor(stream, options)', 'stream', "'res'", () => contextFor('res' as any));
typeRow('bindToStream(ctx, stream)', 'ctx', '{}', () => bindToStream({} as any, new PassThrough()));
typeRow('bindToStream(ctx, stream)', 'stream', '42', (e) => bindToStream(e.ctx, 42 as any));
// configuration and testing hooks
sizeRows('configure(options)', 'options.topChunkSize', (_e, v) => configure({ topChunkSize: v as number }), optionKinds(2 ** 40 * 2, '2^41'));
sizeRows('configure(options)', 'options.retainBytes', (_e, v) => configure({ retainBytes: v as number }), optionKinds(2 ** 53, '2^53'));
sizeRows('configure(options)', 'options.decayMs', (_e, v) => configure({ decayMs: v as number }), optionKinds(24 * 3600 * 1000 + 1, '1 day + 1 ms'));
typeRow('configure(options)', 'options.releaseMode', '1', () => configure({ releaseMode: 1 as any }));
sizeRows('testing.failMapping(nth, every)', 'nth', (_e, v) => testing.failMapping(v as number), optionKinds(2 ** 32, '2^32'));
/* eslint-enable @typescript-eslint/no-explicit-any */

function errorOf(fn: () => unknown): unknown {
  try {
    const r = fn();
    // withContext returns a promise; invalid arguments must throw synchronously
    if (r instanceof Promise) void r.catch(() => {});
  } catch (err) {
    return err;
  }
  return undefined;
}

function describeError(err: unknown): string {
  if (err === undefined) return 'no error';
  const e = err as Error & { code?: string };
  const cls = e instanceof MemctxError ? 'MemctxError' : e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError' : e.constructor.name;
  return `${cls} ${e.code ?? '(no code)'}`;
}

let env: Env;
let other: MemoryContext;
const savedConfig = getConfiguration();
beforeAll(() => {
  other = new MemoryContext({ name: 'other' });
  const deleted = new MemoryContext({ name: 'gone' });
  const mine = deleted.alloc(16);
  deleted.delete();
  env = { ctx: new MemoryContext({ name: 'matrix' }), deleted, foreign: other.alloc(16), mine };
});
afterAll(() => {
  env.ctx.delete();
  other.delete();
  configure({ topChunkSize: savedConfig.topChunkSize, retainBytes: savedConfig.retainBytes, decayMs: savedConfig.decayMs });
  testing.failMapping(0, 0);
});

test.each(rows.map((r) => [r.fn, r.arg, r.kind, r.value, r] as const))('%s: %s %s (%s)', (_fn, _arg, _kind, _value, row) => {
  const err = errorOf(() => row.call(env));
  expect(describeError(err)).toBe(row.expected);
  expect((err as Error).message).toContain(row.names);
});

test('every kind of bad argument appears in the matrix', () => {
  const kinds = new Set(rows.map((r) => r.kind));
  for (const k of ['negative', 'fractional', 'NaN', 'Infinity', 'too large', 'wrong type', 'deleted context', 'foreign Buffer'] as Kind[]) {
    expect(kinds.has(k)).toBe(true);
  }
  expect(rows.length).toBeGreaterThan(80);
});

function renderTable(): string {
  const lines = ['| function | argument | bad value | kind | error and code |', '|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| \`${r.fn}\` | \`${r.arg}\` | ${r.value} | ${r.kind} | ${r.expected} |`);
  return lines.join('\n');
}

for (const doc of ['docs/RELIABILITY.md', 'README.md']) {
  test(`${doc} carries this table`, () => {
    const table = renderTable();
    if (process.env.MEMCTX_PRINT_BAD_INPUT_TABLE === '1') console.log(table);
    const text = fs.readFileSync(path.join(__dirname, '..', '..', doc), 'utf8');
    const begin = text.indexOf('<!-- bad-input-matrix:begin -->');
    const end = text.indexOf('<!-- bad-input-matrix:end -->');
    expect(begin).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(begin);
    expect(text.slice(begin, end).replace('<!-- bad-input-matrix:begin -->', '').trim()).toBe(table);
  });
}
