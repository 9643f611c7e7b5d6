// test/docs/api.test.ts - docs/API.md, the full reference, names everything the package exports:
// every value of the CommonJS entry and of the ES module entry, and every type that lib/index.ts
// exports; and each of its in-page links leads to a heading of the page.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as memctx from '../../lib';

const repoRoot = path.resolve(__dirname, '..', '..');
const api = fs.readFileSync(path.join(repoRoot, 'docs', 'API.md'), 'utf8');

/** True when the page shows `name` as code: `name`, `name(...)`, `name.x`, or inside a list in backticks. */
function documented(name: string): boolean {
  return new RegExp('`[^`\\n]*\\b' + name.replace(/\$/g, '\\$') + '\\b[^`\\n]*`').test(api);
}

test('every value the CommonJS entry exports is in docs/API.md', () => {
  const names = Object.keys(memctx).filter((n) => n !== 'default' && n !== '__esModule');
  expect(names.length).toBeGreaterThan(10);
  expect(names.filter((n) => !documented(n))).toEqual([]);
});

test('every value the ES module entry exports is in docs/API.md', () => {
  const esm = fs.readFileSync(path.join(repoRoot, 'lib', 'esm', 'index.mjs'), 'utf8');
  const block = /export const \{([^}]*)\}/.exec(esm);
  expect(block).not.toBeNull();
  const names = block![1]!.split(',').map((n) => n.trim()).filter(Boolean);
  expect(names.filter((n) => !documented(n))).toEqual([]);
});

test('every type lib/index.ts exports is in docs/API.md', () => {
  const index = fs.readFileSync(path.join(repoRoot, 'lib', 'index.ts'), 'utf8');
  const types = [...index.matchAll(/export type \{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim()).filter(Boolean));
  expect(types.length).toBeGreaterThan(5);
  expect(types.filter((n) => !documented(n))).toEqual([]);
});

test('every in-page link of docs/API.md leads to one of its headings', () => {
  // GitHub's anchors: lower case, punctuation dropped, spaces to hyphens
  const anchors = new Set([...api.matchAll(/^#+ (.*)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
  const links = [...api.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
  expect(links.length).toBeGreaterThan(0);
  expect(links.filter((l) => !anchors.has(l))).toEqual([]);
});
