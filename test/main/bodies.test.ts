// test/main/bodies.test.ts - the deterministic bodies the demo service sends and its client checks.
import { blockTag, BLOCK_BYTES, expectedBody, fillBody, ingestPayload, itemsChecksum, logUniformBytes, prng, TAG_BYTES } from '../../demo/src/bodies';

describe('demo bodies', () => {
  test('a body filled in pieces at any offsets equals the body filled at once', () => {
    const whole = expectedBody(1234, 300_000);
    const rand = prng(7);
    for (let round = 0; round < 50; round++) {
      const off = Math.floor(rand() * 290_000);
      const len = 1 + Math.floor(rand() * 9_000);
      const piece = Buffer.alloc(len);
      fillBody(piece, 1234, off);
      expect(piece.equals(whole.subarray(off, off + len))).toBe(true);
    }
  });

  test('every 4 KiB block opens with a tag naming the seed and the block', () => {
    const body = expectedBody(0xdeadbeef, 5 * BLOCK_BYTES + 100);
    for (let block = 0; block < 6; block++) {
      const at = block * BLOCK_BYTES;
      expect(body.toString('latin1', at, at + TAG_BYTES)).toBe(blockTag(0xdeadbeef, block));
    }
    expect(blockTag(0xdeadbeef, 3)).toBe('#deadbeef000003\n');
  });

  test('bodies are printable ASCII and differ between seeds', () => {
    const a = expectedBody(1, 65_536);
    const b = expectedBody(2, 65_536);
    for (const byte of a) expect(byte === 10 || (byte >= 32 && byte < 127)).toBe(true);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    // Tags aside, two seeds share about 1/64 of their bytes by chance.
    expect(same / a.length).toBeLessThan(0.1);
  });

  test('ingest payloads parse back with a checksum that matches their items', () => {
    const payload = JSON.parse(ingestPayload(99, 4321)) as { seed: number; size: number; items: number[]; check: number };
    expect(payload.seed).toBe(99);
    expect(payload.size).toBe(4321);
    expect(payload.items.length).toBeGreaterThanOrEqual(200);
    expect(itemsChecksum(payload.items)).toBe(payload.check);
    expect(ingestPayload(99, 4321)).toBe(ingestPayload(99, 4321));
  });

  test('log-uniform sizes stay in range and cover both ends', () => {
    const rand = prng(3);
    const sizes = Array.from({ length: 5000 }, () => logUniformBytes(rand, 2048, 262_144));
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(2048);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(262_144);
    expect(sizes.filter((s) => s < 8192).length).toBeGreaterThan(500);
    expect(sizes.filter((s) => s > 131_072).length).toBeGreaterThan(300);
  });
});
