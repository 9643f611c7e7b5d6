// test/js/loader.test.ts - a missing addon gives one clear MemctxError that names the fix.
import { spawnSync } from 'node:child_process';
import { registerPath, repoRoot } from './support/child';

test('missing memctx.node: ERR_MEMCTX_ADDON_NOT_FOUND naming `npm rebuild memctx`', () => {
  const r = spawnSync(process.execPath, ['-r', registerPath, '-e', `
    try { require('./lib/index.ts'); console.log('loaded'); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
  `], { cwd: repoRoot, env: { ...process.env, MEMCTX_ADDON_PATH: '/nonexistent/memctx.node' }, encoding: 'utf8' });
  const res = JSON.parse(r.stdout.trim()) as { name: string; code: string; message: string };
  expect(res.name).toBe('MemctxError');
  expect(res.code).toBe('ERR_MEMCTX_ADDON_NOT_FOUND');
  expect(res.message).toMatch(/npm rebuild memctx/);
  expect(res.message).toMatch(/\/nonexistent\/memctx.node/);
});
