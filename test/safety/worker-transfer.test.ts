// test/safety/worker-transfer.test.ts - owns safety case 2 (docs/RELIABILITY.md, section 7): a worker moves a chunk of its
// context to the main thread (postMessage with transfer, directly or after transfer() or a BYOB
// read) and exits, with or without deleting its context; the main thread keeps reading the moved
// buffer while new contexts write a secret and trim() runs: no crash, never the secret. Both
// release modes; each case runs in a child process.
import { MODES, runClean } from './fixtures/child';
import { transferFlags } from './fixtures/node-features';

interface Report { skipped?: string; refused: { isError: boolean } | null; secretSeen: boolean; rounds: number }

const flags = transferFlags();
const cases: Array<[string, string, string]> = [];
for (const method of ['direct', 'byob', 'transfer']) {
  for (const mode of MODES) for (const end of ['deleted', 'undeleted']) cases.push([method, mode, end]);
}

test.concurrent.each(cases)('worker moves a chunk out by %s (%s mode, context %s) and exits', async (method, mode, end) => {
  if (method === 'transfer' && flags === null) {
    console.log('SKIPPED: ArrayBuffer.prototype.transfer() does not exist on this Node');
    return;
  }
  const r = await runClean<Report>('worker-transfer.ts', [method, mode, end],
    { nodeFlags: method === 'transfer' ? flags! : [] });
  expect(r.skipped).toBeUndefined();
  if (r.refused !== null) {
    expect(r.refused.isError).toBe(true);
    return;
  }
  expect(r.rounds).toBe(12);
  expect(r.secretSeen).toBe(false);
});
