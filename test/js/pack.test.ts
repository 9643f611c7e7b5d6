// test/js/pack.test.ts - the package as users get it: npm pack, install of the tarball into a
// fresh temporary project (offline: the addon is compiled there by node-gyp on install), then a
// require() and an import smoke test, each allocating, writing and deleting a context.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './support/child';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-pack-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
}

test('npm pack ships the sources to build on install, and the tarball installs and loads', () => {
  const packOut = run(npm, ['pack', '--json', '--pack-destination', tmp], repoRoot);
  const info = JSON.parse(packOut.slice(packOut.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info[0]!.files.map((f) => f.path);
  for (const f of ['binding.gyp', 'CMakeLists.txt', 'native/include/memctx.h', 'native/binding/module.cc', 'native/binding/sources.js',
    'dist/index.js', 'dist/index.d.ts', 'lib/esm/index.mjs', 'lib/esm/index.d.mts', 'package.json']) {
    expect(files).toContain(f);
  }
  expect(files.some((f) => f.startsWith('native/src/') && f.endsWith('.c'))).toBe(true);
  expect(files.some((f) => f.startsWith('test/'))).toBe(false);
  expect(files.some((f) => f.startsWith('build/'))).toBe(false);
  const tarball = path.join(tmp, info[0]!.filename);

  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'memctx-smoke', version: '1.0.0', private: true }));
  run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--omit=dev', tarball], app);
  expect(fs.existsSync(path.join(app, 'node_modules', 'memctx', 'build', 'Release', 'memctx.node'))).toBe(true);

  const cjs = run(process.execPath, ['-e', `
    const { MemoryContext, memoryStats, withContext } = require('memctx');
    const ctx = new MemoryContext({ name: 'smoke' });
    const b = ctx.alloc(32, 'cjs');
    if (!Buffer.isBuffer(b) || b.toString('utf8', 0, 3) !== 'cjs') throw new Error('bad buffer');
    ctx.delete();
    if (b.length !== 0) throw new Error('not detached');
    withContext(async (c) => c.allocUnsafe(8).length).then((n) => console.log('cjs ok', n, typeof memoryStats().rssBytes));
  `], app);
  expect(cjs.trim()).toBe('cjs ok 8 number');

  const esm = run(process.execPath, ['--input-type=module', '-e', `
    import memctx, { MemoryContext, MemctxError } from 'memctx';
    const ctx = new MemoryContext();
    ctx.delete();
    try { ctx.allocUnsafe(1); } catch (e) { console.log('esm ok', e instanceof MemctxError, e.code, typeof memctx.trim); }
  `], app);
  expect(esm.trim()).toBe('esm ok true ERR_MEMCTX_DELETED function');
}, 600_000);
