// test/safety/forged.test.ts - owns safety case 8 (docs/RELIABILITY.md, section 7): forged and tampered objects. A parent made by
// Object.create(MemoryContext.prototype) is refused (TypeError ERR_INVALID_ARG_TYPE); a
// structuredClone of a context with its prototype set back, and a bare Object.create of the
// prototype, get TypeError ERR_INVALID_THIS from every method and getter, and cannot be used as a
// parent or bound to a stream; the real context is untouched. Deleting every own property and
// symbol of the chunks' ArrayBuffers, then forgetting the context and forcing GC (the backstop
// runs) and trim(), leaves the live Buffers reading their own bytes, never a later secret, with no
// crash. Both release modes; each case runs in a child process (--expose-gc for the last).
import { MODES, runClean } from './fixtures/child';

type Info = { name: string; code: unknown; message: string } | null;
interface MethodsReport {
  forgedParent: Info;
  cloneError: Info;
  cloneAsParent: Info;
  cloneBound: Info;
  onFake: Record<string, Info>;
  onClone: Record<string, Info> | null;
  realIntact: boolean;
  realAllocates: Info;
  realCheck: Info;
  detachedAfterDelete: boolean | null;
}

const coded = (name: string, code: string) => ({ name, code });

describe.each([...MODES])('%s mode', (mode) => {
  let report: MethodsReport;
  beforeAll(async () => {
    report = await runClean<MethodsReport>('forged.ts', ['methods', mode]);
  });

  test('parent: Object.create(MemoryContext.prototype) is refused with ERR_INVALID_ARG_TYPE', () => {
    expect(report.forgedParent).toMatchObject(coded('TypeError', 'ERR_INVALID_ARG_TYPE'));
  });

  test('every method and getter on Object.create(MemoryContext.prototype) throws ERR_INVALID_THIS', () => {
    const names = Object.keys(report.onFake);
    expect(names.length).toBeGreaterThanOrEqual(10); // alloc, allocUnsafe, free, realloc, reset, delete, ...
    const wrong = names.filter((k) => report.onFake[k]?.name !== 'TypeError' || report.onFake[k]?.code !== 'ERR_INVALID_THIS');
    expect(wrong).toEqual([]);
  });

  test('a structuredClone of a context with its prototype set back: every method and getter throws ERR_INVALID_THIS', () => {
    if (report.cloneError !== null) return; // the clone itself refused: nothing was forged
    const on = report.onClone!;
    const wrong = Object.keys(on).filter((k) => on[k]?.name !== 'TypeError' || on[k]?.code !== 'ERR_INVALID_THIS');
    expect(wrong).toEqual([]);
  });

  test('the clone is refused as a parent and by bindToStream()', () => {
    if (report.cloneError !== null) return;
    expect(report.cloneAsParent).toMatchObject(coded('TypeError', 'ERR_INVALID_ARG_TYPE'));
    expect(report.cloneBound).toMatchObject(coded('TypeError', 'ERR_INVALID_ARG_TYPE'));
  });

  test('the real context is untouched by the forged calls', () => {
    expect(report.realIntact).toBe(true);
    expect(report.realAllocates).toBeNull();
    expect(report.realCheck).toBeNull();
    if (mode === 'detach') expect(report.detachedAfterDelete).toBe(true);
  });

  test('chunk ArrayBuffers stripped of every property and symbol, context forgotten, GC + trim: Buffers keep their bytes', async () => {
    const r = await runClean<{ damaged: number; secretSeen: boolean; liveWithBytes: number; total: number }>(
      'forged.ts', ['gc', mode], { nodeFlags: ['--expose-gc'] });
    expect(r.total).toBe(60);
    expect(r.liveWithBytes).toBe(60);
    expect(r.damaged).toBe(0);
    expect(r.secretSeen).toBe(false);
  });
});
