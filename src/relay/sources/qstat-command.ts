import { spawn } from 'node:child_process';
import type { JobRecord } from '../../contracts/job-record.ts';
import { splitCommand } from '../config.ts';
import type { JobSource, SourceStats, Window } from '../source.ts';
import { parseQstatJson } from './qstat.ts';

/**
 * Finished jobs from `qstat -x -f -F json` (PBS Pro / OpenPBS keep finished jobs for
 * job_history_duration). The command runs without a shell; its whole output is parsed at once (JSON),
 * so it is capped: over `maxOutputBytes` the command is killed and the source fails.
 */
export interface QstatSourceOptions {
  /** A command line (split into argv, never given to a shell) or argv itself. */
  command: string | readonly string[];
  /** The PBS server's time zone: qstat prints local times. */
  timeZone: string;
  /** Default 256 MiB. */
  maxOutputBytes?: number;
  /** Default 5 minutes; the command is killed after it. */
  timeoutMs?: number;
}

export const QSTAT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
const MAX_STDERR_BYTES = 4096;

export function qstatSource(options: QstatSourceOptions): JobSource {
  const argv = typeof options.command === 'string' ? splitCommand(options.command) : [...options.command];
  if (argv.length === 0) throw new Error('qstat command is empty');
  const name = argv.join(' ');
  return {
    kind: 'qstat',
    async *jobs(window: Window, stats: SourceStats, signal: AbortSignal): AsyncGenerator<JobRecord> {
      const input: SourceStats['inputs'][number] = { name };
      stats.inputs.push(input);
      const output = await runCommand(argv, {
        maxBytes: options.maxOutputBytes ?? QSTAT_MAX_OUTPUT_BYTES,
        timeoutMs: options.timeoutMs ?? 300_000,
        signal,
      });
      const parsed = parseQstatJson(output, { timeZone: options.timeZone });
      input.lines = parsed.records.length + parsed.malformed;
      stats.malformed += parsed.malformed;
      stats.skipped += parsed.skipped; // unfinished jobs and array parents
      for (const example of parsed.examples) {
        if (stats.malformed_examples.length < 20) stats.malformed_examples.push(example.slice(0, 300));
      }
      const from = window.from.getTime();
      const to = window.to.getTime();
      for (const record of parsed.records) {
        const end = record.end === null ? NaN : Date.parse(record.end);
        if (end >= from && end < to) yield record;
        else stats.skipped++; // outside the window
      }
    },
  };
}

/**
 * Run argv without a shell and return its stdout. Throws when it cannot start, exits non-zero or on a
 * signal (with the first line of stderr), writes more than `maxBytes`, outlives `timeoutMs`, or `signal`
 * aborts (the command is killed in the last three cases).
 */
export function runCommand(argv: readonly string[], options: { maxBytes: number; timeoutMs: number; signal: AbortSignal }): Promise<string> {
  const [file, ...args] = argv;
  const what = `qstat command '${file}'`;
  return new Promise((resolve, reject) => {
    options.signal.throwIfAborted();
    const child = spawn(file!, args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let failure: Error | undefined;
    const stop = (err: Error) => {
      failure ??= err;
      child.kill('SIGKILL');
    };
    const onAbort = () => stop(options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    options.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop(new Error(`${what} took longer than ${options.timeoutMs} ms`)), options.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > options.maxBytes) stop(new Error(`${what} wrote more than ${options.maxBytes} bytes`));
      else stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.toString('utf8').slice(0, MAX_STDERR_BYTES - stderr.length);
    });
    child.once('error', (err) => stop(new Error(`${what} could not run: ${err.message}`)));
    child.once('close', (code, signalName) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      const firstLine = stderr.trim().split('\n')[0]?.slice(0, 300) || '(no stderr)';
      if (failure) reject(failure);
      else if (code !== 0) reject(new Error(`${what} ${code === null ? `was killed by ${signalName}` : `exited with status ${code}`}: ${firstLine}`));
      else resolve(Buffer.concat(stdout).toString('utf8'));
    });
  });
}
