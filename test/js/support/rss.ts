// test/js/support/rss.ts - reads VmRSS from /proc/self/status (the figure users watch).
import * as fs from 'node:fs';

export function vmRssBytes(): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'latin1'));
  if (!m) throw new Error('VmRSS not found in /proc/self/status');
  return Number(m[1]) * 1024;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
