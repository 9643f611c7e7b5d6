// test/main/figures.test.ts - bench/js/demo-figures.js --ranges, which prints README's spike table
// and the targets' counts, on samples files written here: each range spans the runs, each target
// is counted in the runs that met it, and a recovery no run made reads "never".
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, ensureBuilt, tmpDir } from './helpers';

const MiB = 1024 * 1024;

beforeAll(() => ensureBuilt(), 120_000);

/** One run's samples file with a summary per mode; fields not given are null. */
function writeRun(dir: string, name: string, summaries: Record<string, Record<string, number | null>>): string {
  const file = path.join(dir, `${name}.jsonl`);
  const lines = [JSON.stringify({ type: 'meta', command: `npm start -- --out ${name}` })];
  for (const [label, fields] of Object.entries(summaries)) lines.push(JSON.stringify({ type: 'summary', label, ...fields }));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function run(over: { ownP99: [number, number]; recoveryMs: number | null; returnFaults: [number, number]; peakRss: number }): Record<string, Record<string, number | null>> {
  return {
    memctx: { peakRssBytes: over.peakRss * MiB, recoveryMs: over.recoveryMs, holdServiceP99Ms: over.ownP99[0], returnMinorFaults: over.returnFaults[0] },
    baseline: { peakRssBytes: 1000 * MiB, recoveryMs: null, holdServiceP99Ms: 200, returnMinorFaults: 3000 },
    trim: { peakRssBytes: 920 * MiB, recoveryMs: 1900, holdServiceP99Ms: over.ownP99[1], returnMinorFaults: over.returnFaults[1] },
  };
}

test('--ranges prints each figure over the runs and counts the runs that met each target', () => {
  const dir = tmpDir('figures');
  const files = [
    writeRun(dir, 'a', run({ ownP99: [300, 600], recoveryMs: 100, returnFaults: [12_000, 30_000], peakRss: 1080 })),
    writeRun(dir, 'b', run({ ownP99: [320, 250], recoveryMs: 5000, returnFaults: [14_000, 28_000], peakRss: 1090 })),
    writeRun(dir, 'c', run({ ownP99: [310, 310], recoveryMs: null, returnFaults: [31_000, 30_000], peakRss: 1070 })),
  ];
  const out = execFileSync(process.execPath, [path.join(ROOT, 'bench', 'js', 'demo-figures.js'), '--ranges', ...files], { encoding: 'utf8' });
  expect(out).toMatch(/^3 runs: npm start -- --out a; npm start -- --out b; npm start -- --out c$/m);
  expect(out).toContain('| | memctx | baseline | trim |');
  expect(out).toContain('| peak RSS | 1070.0 MiB–1090.0 MiB | 1000.0 MiB | 920.0 MiB |');
  // memctx came back in two runs, the baseline in none, the trim mode in all three
  expect(out).toContain('| back within 8 MiB of pre-ramp RSS | 0.1 s–5.0 s (none in 1 runs) | never | 1.9 s |');
  // decay + 1 s with the facade's default decay (1 s): run a only (run b took 5 s, run c never)
  expect(out).toMatch(/memctx back within 8 MiB within decay \+ 1 s \(2\.0 s\): met in 1 of 3/);
  // no worse than trim's: runs a and c (equal counts as met), not b
  expect(out).toMatch(/own p99 \(hold\) no worse than trim's: met in 2 of 3 \(memctx \/ trim 0\.50–1\.28×, median 1\.00×\)/);
  // fewer faults: runs a and b, not c
  expect(out).toMatch(/fewer page faults than trim when traffic returns: met in 2 of 3/);
  // a figure no run has is left out of the table
  expect(out).not.toContain('malloc_trim calls');
});

test("the per-run figures read the samples: external memory against the request memory in hold, and the recovery's worst-delay sample", () => {
  const dir = tmpDir('figures');
  const file = path.join(dir, 'run.jsonl');
  const sample = (phase: string, externalMiB: number, requestMiB: number, loopMaxMs: number, rssMiB: number) =>
    JSON.stringify({ type: 'sample', label: 'memctx', phase, elapsedMs: 58_000, externalBytes: externalMiB * MiB, requestBytes: requestMiB * MiB, eventLoopDelayMaxMs: loopMaxMs, rssBytes: rssMiB * MiB, mappedBytes: 2044 * MiB, gcPauseMs: 49.9 });
  const lines = [
    JSON.stringify({ type: 'meta', command: 'npm start' }),
    sample('hold', 130, 100, 20, 1000), // 1.3
    sample('hold', 140, 100, 20, 1000), // 1.4: the median of three is 1.35
    sample('hold', 135, 100, 90, 1000), // the largest delay, but in hold: not the recovery's
    sample('rampdown', 10, 0, 70, 1080),
    sample('idle', 10, 0, 30, 90),
    JSON.stringify({ type: 'summary', label: 'memctx', gcCount: 1100 }),
  ];
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const out = execFileSync(process.execPath, [path.join(ROOT, 'bench', 'js', 'demo-figures.js'), file], { encoding: 'utf8' });
  expect(out).toContain('external memory 1.35x the request memory in flight');
  expect(out).toContain('1100 GCs in the run');
  expect(out).toContain("recovery's worst loop delay 70.0 ms in rampdown at 58.0 s: RSS 1080.0 MiB, mapped 2044.0 MiB, GC pause 49.9 ms");
});
