// lib/proc.ts - the process's resident set as Linux reports it in /proc/self/status (VmRSS,
// RssAnon, RssFile), with process.memoryUsage.rss() where /proc is missing.
import * as fs from 'node:fs';

// /proc/self/status is read into one reused buffer through a kept descriptor: fs.readFileSync would
// allocate a fresh 64 KiB Buffer per call (the file reports size 0), and at 10 samples a second
// that garbage alone moves V8's external-memory figures a monitor is meant to observe.
let statusFd: number | null | undefined;
const statusBuf = Buffer.allocUnsafeSlow(16 * 1024);

function readStatus(): string | null {
  if (statusFd === undefined) {
    try {
      statusFd = fs.openSync('/proc/self/status', 'r');
    } catch {
      statusFd = null; // not Linux
    }
  }
  if (statusFd === null) return null;
  try {
    const n = fs.readSync(statusFd, statusBuf, 0, statusBuf.length, 0);
    return statusBuf.toString('latin1', 0, n);
  } catch {
    return null;
  }
}

function statusField(text: string, name: string): number | null {
  const at = text.indexOf(`\n${name}:`);
  if (at < 0) return null;
  const m = /^\s+(\d+)\s+kB/.exec(text.slice(at + name.length + 2, at + name.length + 40));
  return m ? Number(m[1]) * 1024 : null;
}

/** VmRSS, RssAnon and RssFile from /proc/self/status in bytes (null fields off Linux). */
export function readProcRss(): { rssBytes: number; rssAnonBytes: number | null; rssFileBytes: number | null } {
  const text = readStatus();
  const rss = text === null ? null : statusField(text, 'VmRSS');
  if (text !== null && rss !== null) return { rssBytes: rss, rssAnonBytes: statusField(text, 'RssAnon'), rssFileBytes: statusField(text, 'RssFile') };
  return { rssBytes: process.memoryUsage.rss(), rssAnonBytes: null, rssFileBytes: null };
}

/** VmRSS from /proc/self/status in bytes; process.memoryUsage.rss() where /proc is missing. */
export function readRssBytes(): number {
  return readProcRss().rssBytes;
}
