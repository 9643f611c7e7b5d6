// test/safety/transfer.test.ts - owns safety case 1 (docs/RELIABILITY.md, section 7): a context Buffer's chunk ArrayBuffer moved
// out of memctx (structuredClone with transfer, MessagePort, a worker's postMessage,
// ArrayBuffer.prototype.transfer and transferToFixedLength, a BYOB stream read, a byte stream's enqueue()). Each move either
// throws and leaves the Buffer intact, or succeeds (Node 20 and 22 cannot refuse every one): then
// the context's other Buffer in that chunk is empty and the process is told so once, with the
// warning MEMCTX_CHUNK_MOVED; afterwards the context allocates (or throws a coded error), and
// after delete()/reset() + trim() the moved buffer never shows another context's secret, writes
// through it reach no live Buffer, and the process does not crash. Chunks shared by small
// allocations and a large allocation's own ArrayBuffer; both release modes; in a worker thread
// too. Each case runs in a child process.
import { MODES, runClean } from './fixtures/child';
import { transferFlags } from './fixtures/node-features';

interface Report {
  skipped?: string;
  refused: { name: string; code: unknown; message: string; isError: boolean } | null;
  intactAfterRefusal: boolean | null;
  siblingEmptied: boolean;
  warnings: string[];
  allocAfterMove: string;
  allocAfterRelease: string;
  secretSeen: boolean;
  secretsIntact: boolean;
}

const flags = transferFlags();
const METHODS = ['clone', 'port', 'worker', 'byob', 'enqueue'] as const;

function check(r: Report, after: string): void {
  expect(r.skipped).toBeUndefined();
  if (r.refused !== null) {
    expect(r.refused.isError).toBe(true);
    expect(r.intactAfterRefusal).toBe(true);
    expect(r.siblingEmptied).toBe(false);
  }
  // a move that emptied the chunk's other Buffer is reported once; nothing else warns
  expect(r.warnings).toEqual(r.siblingEmptied ? ['MEMCTX_CHUNK_MOVED'] : []);
  // no uncoded TypeError from a context whose chunk was moved
  expect(['ok', 'ERR_MEMCTX_DELETED']).toContain(r.allocAfterMove);
  expect(r.allocAfterRelease).toBe(after === 'reset' ? 'ok' : 'ERR_MEMCTX_DELETED');
  expect(r.secretSeen).toBe(false);
  expect(r.secretsIntact).toBe(true);
}

const cases: Array<[string, string, string]> = [];
for (const method of METHODS) for (const mode of MODES) for (const after of ['delete', 'reset']) cases.push([method, mode, after]);

describe('moving a chunk ArrayBuffer out (main thread)', () => {
  test.concurrent.each(cases)('%s, %s mode, then %s + trim', async (method, mode, after) => {
    check(await runClean<Report>('transfer.ts', [method, mode, after]), after);
  });
});

describe('moving a large allocation\'s own ArrayBuffer out (300 KiB)', () => {
  test.concurrent.each(METHODS.flatMap((m) => MODES.map((mode) => [m, mode] as [string, string])))(
    '%s, %s mode, then delete + trim', async (method, mode) => {
      check(await runClean<Report>('transfer.ts', [method, mode, 'delete', 'large']), 'delete');
    });
});

describe('moving a chunk ArrayBuffer out (inside a worker thread)', () => {
  test.concurrent.each(METHODS.flatMap((m) => MODES.map((mode) => [m, mode] as [string, string])))(
    '%s, %s mode, then delete + trim', async (method, mode) => {
      check(await runClean<Report>('transfer.ts', [method, mode, 'delete', '--in-worker']), 'delete');
    });
});

// transfer() and transferToFixedLength() come together (natively from Node 22, behind one V8 flag on 20).
const transferName = flags === null ? 'SKIPPED: ArrayBuffer.prototype.transfer() does not exist on this Node'
  : flags.length > 0 ? `ArrayBuffer.prototype.transfer() and transferToFixedLength() (Node ${process.versions.node}: behind ${flags[0]})`
    : 'ArrayBuffer.prototype.transfer() and transferToFixedLength()';
const TRANSFERS = ['transfer', 'transferToFixedLength'] as const;
(flags === null ? describe.skip : describe)(transferName, () => {
  const tcases: Array<[string, string, string]> = [];
  for (const method of TRANSFERS) for (const mode of MODES) for (const after of ['delete', 'reset']) tcases.push([method, mode, after]);
  test.concurrent.each(tcases)('%s, %s mode, then %s + trim', async (method, mode, after) => {
    check(await runClean<Report>('transfer.ts', [method, mode, after], { nodeFlags: flags ?? [] }), after);
  });
  test.concurrent.each(TRANSFERS.flatMap((m) => MODES.map((mode) => [m, mode] as [string, string])))(
    '%s, %s mode, inside a worker thread', async (method, mode) => {
      check(await runClean<Report>('transfer.ts', [method, mode, 'delete', '--in-worker'], { nodeFlags: flags ?? [] }), 'delete');
    });
});
