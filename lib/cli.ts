#!/usr/bin/env node
// lib/cli.ts - the `memctx` command: `memctx report <samples.jsonl>` renders the HTML report of a samples file.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readSamplesFile, SamplesFileError } from './report/data';
import { writeReport } from './report/html';
import { formatTables, summaryTables } from './report/table';

const HELP = `Usage: memctx report <samples.jsonl> [--out <report.html>] [--title <text>]

Renders the self-contained HTML report (RSS, memctx mapped/resident bytes, requests per second,
p99 latency, event-loop delay, page faults, V8 heap, GC pauses over time) from a JSON Lines
samples file, as written by
startMonitor({ file }) in your own service or by npm start in the memctx repository.

Options:
  --out <file>     where to write the report (default: the samples file with .html)
  --title <text>   page title (default: from the file, else "memctx memory report")
  -h, --help       this text
  -v, --version    the memctx version

Exit codes: 0 written, 1 the samples file is unreadable or has no samples, 2 bad arguments.`;

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

export function runCli(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        title: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    err.write(`memctx: ${(e as Error).message.split('\n')[0]} (see memctx --help)\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    out.write(HELP + '\n');
    return 0;
  }
  if (values.version === true) {
    out.write(version() + '\n');
    return 0;
  }
  const [command, ...rest] = positionals;
  if (command === undefined) {
    err.write('memctx: missing command; the one command is `memctx report <samples.jsonl>` (see memctx --help)\n');
    return 2;
  }
  if (command !== 'report') {
    err.write(`memctx: unknown command ${JSON.stringify(command)}; expected "report" (see memctx --help)\n`);
    return 2;
  }
  if (rest.length !== 1) {
    err.write(`memctx report: expected exactly one samples file, got ${rest.length} (see memctx --help)\n`);
    return 2;
  }
  const file = rest[0];
  const target = values.out ?? path.join(path.dirname(file), `${path.basename(file).replace(/\.jsonl?$/i, '')}.html`);
  try {
    const data = readSamplesFile(file);
    const written = writeReport(data, target, values.title !== undefined ? { title: values.title } : {});
    if (data.summaries.length > 0) out.write(formatTables(summaryTables(data.summaries)) + '\n');
    const labels = new Set(data.samples.map((s) => s.label));
    out.write(`${data.samples.length} samples of ${[...labels].join(', ')}\nreport: ${written}\n`);
    return 0;
  } catch (e) {
    const ex = e as NodeJS.ErrnoException;
    if (e instanceof SamplesFileError) err.write(`memctx report: ${ex.message}\n`);
    else if (ex.code !== undefined && ex.path !== undefined) err.write(`memctx report: cannot ${ex.syscall ?? 'access'} ${ex.path}: ${ex.code}\n`);
    else err.write(`memctx report: ${ex.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = runCli(process.argv.slice(2));
}
