// bench/tools/stats.mjs - small statistics (median, min, max) and the machine description used
// by the C benchmark runner and the BENCHMARKS.md generator.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export const median = (xs) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const min = (xs) => Math.min(...xs);
export const max = (xs) => Math.max(...xs);

function firstLine(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
  } catch {
    return null;
  }
}

function debVersion(pkg) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

export function machineInfo(root) {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1].trim();
  } catch {
    /* not Linux: keep os.cpus() */
  }
  let commit = null;
  let dirty = null;
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'native', 'bench/c'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    /* not a git checkout */
  }
  return {
    cpuModel,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    gcc: firstLine('gcc', ['--version']),
    cmake: firstLine('cmake', ['--version']),
    node: process.version,
    valgrind: firstLine('valgrind', ['--version']),
    glibc: firstLine('ldd', ['--version']),
    packages: Object.fromEntries(
      ['libmimalloc-dev', 'libjemalloc-dev', 'libapr1-dev', 'libtalloc-dev'].map((p) => [p, debVersion(p)]),
    ),
    commit,
    uncommittedChangesInNativeOrBench: dirty,
  };
}
