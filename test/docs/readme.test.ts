// test/docs/readme.test.ts - every fenced code block of README.md runs as written: JavaScript as
// a CommonJS script (an ES module when it has import statements), TypeScript type-checked and
// compiled with the settings the README names (target ES2022, lib ESNext.Disposable, module
// NodeNext) and then run, C compiled with the core's sources and run. `memctx` resolves to this
// checkout (dist/ and the built addon). Blocks tagged as shell commands or output (sh, bash,
// console, text) are skipped on purpose; a block without a tag fails, so none is skipped by
// accident. A snippet that starts a server gets one request (support/serve-once.js), which must
// answer 200.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');
const SKIPPED = new Set(['sh', 'bash', 'console', 'text']);
const RUN = new Set(['js', 'javascript', 'ts', 'typescript', 'c']);
const serveOnce = path.join(__dirname, 'support', 'serve-once.js');

interface Block { lang: string; code: string; line: number }

function readmeBlocks(): Block[] {
  const lines = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    // a fence may be indented (inside a list item): the block's lines lose that indentation
    const open = /^( *)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open as unknown as [string, string, string, string];
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.trimStart().startsWith(fence); i++) {
      body.push(lines[i]!.startsWith(indent) ? lines[i]!.slice(indent.length) : lines[i]!);
    }
    blocks.push({ lang: lang.toLowerCase(), code: body.join('\n') + '\n', line: start + 1 });
  }
  return blocks;
}

const blocks = readmeBlocks();
let tmp: string;

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (e) {
    const err = e as { status: number | null; signal: string | null; stdout: string; stderr: string };
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (status ${err.status}, signal ${err.signal}):\n${err.stdout}\n${err.stderr}`);
  }
}

function runNode(file: string, dir: string): string {
  const out = run(process.execPath, ['-r', serveOnce, file], dir);
  const served = /^served (\d+) /m.exec(out);
  if (served) expect(served[1]).toBe('200');
  return out;
}

beforeAll(() => {
  expect(fs.existsSync(path.join(repoRoot, 'dist', 'index.js'))).toBe(true); // npm run build:ts
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-readme-'));
  fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: 'readme-snippets', private: true }));
  fs.mkdirSync(path.join(tmp, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(repoRoot, path.join(tmp, 'node_modules', 'memctx'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules', '@types', 'node'), path.join(tmp, 'node_modules', '@types', 'node'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('README.md has code blocks, each tagged with a language this test runs or skips on purpose', () => {
  expect(blocks.filter((b) => RUN.has(b.lang)).length).toBeGreaterThan(0);
  expect(blocks.filter((b) => !RUN.has(b.lang) && !SKIPPED.has(b.lang)).map((b) => `line ${b.line}: "${b.lang}"`)).toEqual([]);
});

describe.each(blocks.filter((b) => RUN.has(b.lang)).map((b) => [`${b.lang} block at README.md line ${b.line}`, b] as const))('%s', (_name, block) => {
  test('runs as written', () => {
    const dir = fs.mkdtempSync(path.join(tmp, `line-${block.line}-`));
    fs.symlinkSync(path.join(tmp, 'node_modules'), path.join(dir, 'node_modules'));
    if (block.lang === 'c') {
      const src = path.join(dir, 'snippet.c');
      fs.writeFileSync(src, block.code);
      const core = fs.readdirSync(path.join(repoRoot, 'native', 'src')).filter((f) => f.endsWith('.c')).map((f) => path.join(repoRoot, 'native', 'src', f));
      run('cc', ['-std=c11', '-Wall', '-Wextra', '-Wpedantic', '-Werror', '-D_GNU_SOURCE', '-DMCX_API=', `-I${path.join(repoRoot, 'native', 'include')}`,
        `-I${path.join(repoRoot, 'native', 'src')}`, '-o', path.join(dir, 'snippet'), src, ...core, '-lpthread'], dir);
      run(path.join(dir, 'snippet'), [], dir);
    } else if (block.lang === 'ts' || block.lang === 'typescript') {
      fs.writeFileSync(path.join(dir, 'snippet.mts'), block.code);
      // The settings the README names for its TypeScript examples.
      run(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '--strict', '--target', 'ES2022',
        '--lib', 'ES2022,ESNext.Disposable', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node',
        '--skipLibCheck', 'snippet.mts'], dir);
      runNode(path.join(dir, 'snippet.mjs'), dir);
    } else {
      const esm = /^\s*import\s/m.test(block.code);
      const file = path.join(dir, esm ? 'snippet.mjs' : 'snippet.cjs');
      fs.writeFileSync(file, block.code);
      runNode(file, dir);
    }
  }, 120_000);
});
