// test/js/pack.test.ts - the package as users get it: the tarball of `npm pack` (with the prebuilt
// binary of the running node; MEMCTX_PACK_TARBALL=<file> tests a given tarball instead, as .ci/run
// does on every supported node), installed into fresh projects offline, with its dependencies
// packed from this checkout's node_modules into an npm cache of the test's own (so a cold user
// cache and no network are fine): with install scripts disabled and with them on, both without a
// compiler on PATH, and with --build-from-source. Each installed copy is used from require(),
// import and the memctx command. The tarball is packed from a copy of the checkout, so the other
// test files never see dist/ rebuilt under them.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './support/child';

const npmCli = resolveNpmCli();
const abiFile = `prebuilds/linux-x64/node.abi${process.versions.modules}.glibc.node`;
let tmp: string;
let tarball: string;
let deps: string[];
let files: string[];
/** A PATH with node, npm and sh only: a machine without make, cc, g++ or python. */
let noCompilerPath: string;

/** npm's own script (npm-cli.js), so that npm runs under this test's node on any PATH. */
function resolveNpmCli(): string {
  const execDir = path.dirname(process.execPath);
  const candidates = [
    path.join(execDir, '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'npm')),
  ];
  for (const c of candidates) {
    if (fs.existsSync(c)) return fs.realpathSync(c);
  }
  throw new Error(`npm not found beside ${process.execPath} or on PATH`);
}

/** The folder holding include/node of the running node, for a source build without downloads. */
function nodedir(): string | undefined {
  const dir = path.resolve(process.execPath, '..', '..');
  return fs.existsSync(path.join(dir, 'include', 'node', 'node.h')) ? dir : process.env.npm_config_nodedir;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...env },
  });
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return run(process.execPath, [npmCli, ...args], cwd, env);
}

/** A new project with memctx installed from the tarball, offline, from the test's own cache. */
function install(name: string, flags: string[], env: NodeJS.ProcessEnv = {}): string {
  const app = path.join(tmp, name);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: `memctx-${name}`, version: '1.0.0', private: true }));
  const dir = nodedir();
  npm(['install', '--offline', '--no-audit', '--no-fund', ...flags, tarball, ...deps], app, {
    npm_config_cache: path.join(tmp, 'npm-cache'),
    ...(dir !== undefined ? { npm_config_nodedir: dir } : {}),
    ...env,
  });
  return app;
}

/** The addon file that node-gyp-build loads for this installed copy. */
function loadedAddon(app: string): string {
  return run(process.execPath, ['-p', `require('node-gyp-build').path(${JSON.stringify(path.join(app, 'node_modules', 'memctx'))})`], app).trim();
}

function smokeCjs(app: string): void {
  const out = run(process.execPath, ['-e', `
    const { MemoryContext, memoryStats, withContext, startMonitor } = require('memctx');
    const ctx = new MemoryContext({ name: 'smoke' });
    const b = ctx.alloc(32, 'cjs');
    if (!Buffer.isBuffer(b) || b.toString('utf8', 0, 3) !== 'cjs') throw new Error('bad buffer');
    ctx.delete();
    if (b.length !== 0) throw new Error('not detached');
    const monitor = startMonitor({ intervalMs: 20, file: 'samples.jsonl' });
    setTimeout(() => {
      monitor.stop();
      withContext(async (c) => c.allocUnsafe(8).length).then((n) => console.log('cjs ok', n, typeof memoryStats().rssBytes));
    }, 150);
  `], app);
  expect(out.trim()).toBe('cjs ok 8 number');
}

function smokeEsm(app: string): void {
  const out = run(process.execPath, ['--input-type=module', '-e', `
    import memctx, { MemoryContext, MemctxError } from 'memctx';
    const ctx = new MemoryContext();
    ctx.delete();
    try { ctx.allocUnsafe(1); } catch (e) { console.log('esm ok', e instanceof MemctxError, e.code, typeof memctx.trim); }
  `], app);
  expect(out.trim()).toBe('esm ok true ERR_MEMCTX_DELETED function');
}

function smokeCli(app: string): void {
  const bin = path.join(app, 'node_modules', '.bin', 'memctx');
  expect(run(process.execPath, [bin, '--version'], app).trim()).toBe(JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
  const out = run(process.execPath, [bin, 'report', 'samples.jsonl', '--out', 'report.html'], app);
  expect(out).toMatch(/\d+ samples of /);
  expect(fs.readFileSync(path.join(app, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/i);
}

/**
 * A copy of the checkout to pack. npm pack runs prepare (which deletes and rebuilds dist/) and
 * prepack (prebuilds/) in the folder it packs, while the other test files run programs from this
 * checkout's dist/. The copy leaves out what .gitignore names and shares node_modules.
 */
function packSource(): string {
  const src = path.join(tmp, 'src');
  const skipped = new Set(['node_modules', '.git', 'dist', 'prebuilds', 'coverage', 'out', 'reports']);
  fs.cpSync(repoRoot, src, {
    recursive: true,
    filter: (from) => {
      const rel = path.relative(repoRoot, from);
      const top = rel.split(path.sep)[0]!;
      return !skipped.has(top) && !/^build($|-)/.test(top) && !top.endsWith('.tgz') && rel !== path.join('demo', 'dist');
    },
  });
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(src, 'node_modules'), 'dir');
  return src;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-pack-'));
  if (process.env.MEMCTX_PACK_TARBALL) {
    tarball = path.resolve(process.env.MEMCTX_PACK_TARBALL);
  } else {
    // The prebuilt binary of the running node only: building every supported node's is
    // prepack's job on npm publish and .ci/run's.
    const packOut = npm(['pack', '--json', '--pack-destination', tmp], packSource(),
      { MEMCTX_PREBUILD_NODES: process.env.MEMCTX_PREBUILD_NODES ?? 'current' });
    const info = JSON.parse(packOut.slice(packOut.indexOf('['))) as Array<{ filename: string }>;
    tarball = path.join(tmp, info[0]!.filename);
  }
  files = run('tar', ['tzf', tarball], tmp).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  // The runtime dependencies, packed from node_modules: npm resolves memctx's dependencies
  // to them, so the install needs neither the registry nor a warm cache.
  const depsDir = path.join(tmp, 'deps');
  fs.mkdirSync(depsDir);
  const prodDirs = npm(['ls', '--omit=dev', '--all', '--parseable'], repoRoot).split('\n').filter(Boolean).slice(1);
  deps = prodDirs.map((dir) => path.join(depsDir, npm(['pack', '--ignore-scripts', '--pack-destination', depsDir, dir], repoRoot).trim().split('\n').pop()!));
  noCompilerPath = path.join(tmp, 'bin');
  fs.mkdirSync(noCompilerPath);
  fs.symlinkSync(process.execPath, path.join(noCompilerPath, 'node'));
  fs.symlinkSync(npmCli, path.join(noCompilerPath, 'npm'));
  fs.symlinkSync('/bin/sh', path.join(noCompilerPath, 'sh'));
}, 600_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the tarball ships the library, the sources to build it, a prebuilt binary for this node, and no tests, builds, demo or source maps', () => {
  for (const f of ['binding.gyp', 'native/include/memctx.h', 'native/binding/sources.js', 'dist/index.js', 'dist/index.d.ts',
    'dist/cli.js', 'lib/esm/index.mjs', 'lib/esm/index.d.mts', 'package.json', 'LICENSE', 'CHANGELOG.md', 'README.md', abiFile]) {
    expect(files).toContain(f);
  }
  expect(files.some((f) => f.startsWith('native/src/') && f.endsWith('.c'))).toBe(true);
  expect(files.some((f) => f.startsWith('native/binding/') && f.endsWith('.cc'))).toBe(true);
  expect(files.filter((f) => /^(test|build|build-[^/]*|dist\/demo|lib\/demo)\//.test(f))).toEqual([]);
  expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  const pkg = JSON.parse(run('tar', ['xzfO', tarball, 'package/package.json'], tmp)) as {
    dependencies: Record<string, string>; engines: { node: string }; os: string[]; cpu: string[];
  };
  expect(Object.keys(pkg.dependencies)).not.toContain('node-gyp');
  expect(pkg.os).toEqual(['linux']);
  expect(pkg.engines.node.split('||').map((r) => r.trim())).toContain(`${process.versions.node.split('.')[0]}.x`);
});

test('compiled JavaScript names no source map, and every relative link of the shipped Markdown resolves inside the tarball', () => {
  const unpacked = path.join(tmp, 'unpacked');
  fs.mkdirSync(unpacked);
  run('tar', ['xzf', tarball, '-C', unpacked], tmp);
  const root = path.join(unpacked, 'package');
  const js = files.filter((f) => f.endsWith('.js') || f.endsWith('.mjs'));
  expect(js.filter((f) => fs.readFileSync(path.join(root, f), 'utf8').includes('sourceMappingURL'))).toEqual([]);
  const broken: string[] = [];
  let checked = 0;
  for (const md of files.filter((f) => f.endsWith('.md'))) {
    const text = fs.readFileSync(path.join(root, md), 'utf8').replace(/```[\s\S]*?```/g, '');
    // README's links (what the registry page shows), and the images of every shipped document
    const pattern = md === 'README.md' ? /!?\[[^\]]*\]\(([^)\s]+)\)/g : /!\[[^\]]*\]\(([^)\s]+)\)/g;
    for (const [, target] of text.matchAll(pattern)) {
      if (/^[a-z]+:/i.test(target!) || target!.startsWith('#')) continue;
      const file = path.posix.normalize(path.posix.join(path.posix.dirname(md), target!.split('#')[0]!));
      checked++;
      if (!files.includes(file) && !files.some((f) => f.startsWith(file.replace(/\/?$/, '/')))) broken.push(`${md} -> ${target}`);
    }
  }
  expect(checked).toBeGreaterThan(0);
  expect(broken).toEqual([]);
});

test('the prebuilt binary is never unloaded (-z nodelete): V8 may call its deleters until the process exits', () => {
  const unpacked = path.join(tmp, 'elf');
  fs.mkdirSync(unpacked);
  run('tar', ['xzf', tarball, '-C', unpacked, `package/${abiFile}`], tmp);
  const dynamic = run('readelf', ['-d', path.join(unpacked, 'package', abiFile)], tmp);
  expect(dynamic).toMatch(/\(FLAGS_1\)\s+Flags:.*\bNODELETE\b/);
});

test('with install scripts disabled and no compiler on PATH, the install loads the prebuilt binary', () => {
  const app = install('ignore-scripts', ['--ignore-scripts'], { PATH: noCompilerPath });
  expect(fs.existsSync(path.join(app, 'node_modules', 'memctx', 'build'))).toBe(false);
  expect(loadedAddon(app)).toBe(path.join(app, 'node_modules', 'memctx', abiFile));
  smokeCjs(app);
  smokeEsm(app);
  smokeCli(app);
}, 300_000);

test('with install scripts on and no compiler on PATH, node-gyp-build finds the prebuilt binary and builds nothing', () => {
  const app = install('scripts', [], { PATH: noCompilerPath });
  expect(fs.existsSync(path.join(app, 'node_modules', 'memctx', 'build'))).toBe(false);
  expect(loadedAddon(app)).toBe(path.join(app, 'node_modules', 'memctx', abiFile));
  smokeCjs(app);
}, 300_000);

test('that PATH really has no compiler: a source build on it fails', () => {
  expect(() => install('no-compiler', ['--build-from-source'], { PATH: noCompilerPath })).toThrow(/gyp|make|not found|ENOENT/);
}, 300_000);

test('--build-from-source compiles the addon with node-gyp, and the package loads that build', () => {
  const app = install('from-source', ['--build-from-source']);
  const built = path.join(app, 'node_modules', 'memctx', 'build', 'Release', 'memctx.node');
  expect(fs.existsSync(built)).toBe(true);
  expect(loadedAddon(app)).toBe(built);
  smokeCjs(app);
}, 600_000);
