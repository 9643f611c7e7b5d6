// test/js/support/child.ts - runs a fixture script in a child node process (TypeScript through
// support/register.js) and returns its exit status, signal and output, so tests can assert on a
// crash instead of dying with it.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const registerPath = path.join(__dirname, 'register.js');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run test/js/fixtures/<name> with node flags and args; resolves when it exits. */
export function runFixture(name: string, args: string[] = [], nodeFlags: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  const script = path.join(__dirname, '..', 'fixtures', name);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '-r', registerPath, script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The last line of stdout parsed as JSON (fixtures report their findings that way). */
export function lastJson<T>(r: ChildResult): T {
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1] ?? '') as T;
  } catch {
    throw new Error(`fixture printed no JSON result (code ${r.code}, signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}
