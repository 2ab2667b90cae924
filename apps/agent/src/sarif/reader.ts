/**
 * Reads a SARIF file with a streaming JSON parser (`@streamparser/json`), one value at a time, so that memory does
 * not depend on the file's size: each result, artifact, invocation and run-level property is assembled alone and
 * dropped once handed over. Results are handed over only once their run's tool is known; results written before
 * it (tools that write keys in alphabetical order put `tool` last) are spooled to a scratch file and replayed then.
 */
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../errors';
import { readlineModule, streamParserModule } from '../internal/lazyModules';
import { SecretMasker } from './masking';
import type { RunInput } from './convert';
import type { SarifArtifact, SarifInvocation, SarifResult, SarifToolComponent } from './types';

/** Options of `readSarif`. */
export interface SarifReadOptions {
  /** Largest single JSON value (one result, the tool, …) in bytes of SARIF text. Default 64 MiB. */
  maxValueBytes?: number;
  /** Most artifacts remembered per run (for `artifactLocation.index`). Default 200,000. */
  maxArtifacts?: number;
  /** Folder for spool files (results written before their run's tool). Default: the OS temp folder. */
  spoolDir?: string;
  /** Stops reading. */
  signal?: AbortSignal;
  /** Read size, bytes. Default 256 KiB. */
  readBytes?: number;
  /** Name used in error messages (the scanner). */
  name?: string;
}

const NOT_OBJECT = 'it is not a JSON object';

/** What the reader hands over, in order. */
export type SarifEvent =
  | { kind: 'version'; version: unknown }
  /** A run is ready: its tool is known (or the run ended without one). Comes before its results. */
  | { kind: 'run'; index: number; run: RunInput }
  | { kind: 'result'; index: number; result: SarifResult }
  | { kind: 'invocation'; index: number; invocation: SarifInvocation }
  /** The document ended; `runs` tells whether it had a `runs` array. */
  | { kind: 'end'; runs: boolean; bytes: number };

interface RunReading {
  index: number;
  input: RunInput;
  /** Values of `tool` were seen. */
  toolSeen: boolean;
  /** `run` event sent. */
  ready: boolean;
  /** `fd` is -1 once closed (by its replay): a closed descriptor's number may already belong to another file. */
  spool?: { path: string; fd: number; buf: string; count: number };
}

/** Reads `file` as SARIF, yielding its parts in order (see `SarifEvent`). Throws `SCANNER_FAILED` on bad input. */
export async function* readSarif(file: string, options: SarifReadOptions = {}): AsyncGenerator<SarifEvent> {
  const name = options.name ?? 'the scanner';
  const maxValue = options.maxValueBytes ?? 64 * 1024 * 1024;
  const maxArtifacts = options.maxArtifacts ?? 200_000;
  const spoolDir = options.spoolDir ?? tmpdir();
  const queue: SarifEvent[] = [];
  const runs = new Map<number, RunReading>();
  let current: RunReading | undefined;
  let sawRuns = false;
  let tokenOffset = 0;
  let lastValueEnd = 0;
  let depth = 0;
  let fed = 0;
  let head = '';
  let tokens = 0;
  const spools: string[] = [];

  const fail = (problem: string, cause?: unknown): AgentError =>
    new AgentError('SCANNER_FAILED', `${name} did not write valid SARIF: ${problem}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { reason: 'invalid_sarif', offset: tokenOffset },
    });

  const runOf = (index: number): RunReading => {
    let r = runs.get(index);
    if (r === undefined) {
      r = { index, input: { bases: {}, artifacts: [] }, toolSeen: false, ready: false };
      runs.set(index, r);
    }
    return r;
  };

  // Spooled results go back out before anything else of their run once it is ready.
  const pendingReplays: RunReading[] = [];
  const makeReady = (r: RunReading): void => {
    if (r.ready) return;
    r.ready = true;
    queue.push({ kind: 'run', index: r.index, run: r.input });
    if (r.spool !== undefined) pendingReplays.push(r);
  };

  const endRun = (r: RunReading | undefined): void => {
    if (r !== undefined) makeReady(r);
  };

  const { Tokenizer, TokenParser, TokenType } = await streamParserModule();
  const tokenizer = new Tokenizer();
  const parser = new TokenParser({
    paths: ['$.version', '$.runs.*.*.*', '$.properties.*', '$.inlineExternalProperties.*'],
    keepStack: false,
  });
  tokenizer.onToken = (t) => {
    tokenOffset = t.offset;
    if (tokens++ === 0 && t.token !== TokenType.LEFT_BRACE) throw new Error(NOT_OBJECT);
    if (t.token === TokenType.LEFT_BRACE || t.token === TokenType.LEFT_BRACKET) depth++;
    else if (t.token === TokenType.RIGHT_BRACE || t.token === TokenType.RIGHT_BRACKET) depth--;
    else if (depth === 1 && t.token === TokenType.STRING && t.value === 'runs') sawRuns = true;
    parser.write(t);
  };
  parser.onValue = ({ value, key, stack }) => {
    lastValueEnd = tokenOffset;
    if (stack.length === 1) {
      if (key === 'version') queue.push({ kind: 'version', version: value });
      return;
    }
    if (stack[1]?.key !== 'runs' || stack.length !== 4) return;
    const index = stack[2]!.key as number;
    const part = stack[3]!.key as string;
    if (current === undefined || current.index !== index) {
      // A new run began: the previous one ended.
      endRun(current);
      current = runOf(index);
    }
    const r = current;
    if (part === 'tool') {
      r.toolSeen = true;
      if (key === 'driver' && value !== null && typeof value === 'object')
        r.input.driver = value as SarifToolComponent;
      if (key === 'extensions' && Array.isArray(value)) r.input.extensions = value as SarifToolComponent[];
      return;
    }
    // The first value after the tool's: the tool is complete.
    if (r.toolSeen) makeReady(r);
    switch (part) {
      case 'originalUriBaseIds':
        if (typeof key === 'string' && value !== null && typeof value === 'object')
          r.input.bases[key] = value as RunInput['bases'][string];
        return;
      case 'artifacts': {
        const loc = (value as SarifArtifact | null)?.location;
        if (typeof key === 'number' && key < maxArtifacts && loc !== null && typeof loc === 'object')
          r.input.artifacts[key] = { location: loc };
        return;
      }
      case 'invocations':
        queue.push({ kind: 'invocation', index, invocation: value as SarifInvocation });
        return;
      case 'results':
        if (r.ready && r.spool === undefined) {
          queue.push({ kind: 'result', index, result: value as SarifResult });
        } else {
          if (r.spool === undefined) {
            const path = join(
              spoolDir,
              `.sarif-spool-${process.pid}-${randomBytes(6).toString('hex')}-${index}.jsonl`,
            );
            spools.push(path);
            r.spool = { path, fd: openSync(path, 'w'), buf: '', count: 0 };
          }
          const s = r.spool;
          s.buf += `${JSON.stringify(value)}\n`;
          s.count++;
          if (s.buf.length > 1 << 20) {
            writeSync(s.fd, s.buf);
            s.buf = '';
          }
        }
        return;
      default:
        return;
    }
  };

  async function* replay(r: RunReading): AsyncGenerator<SarifEvent> {
    const s = r.spool!;
    if (s.buf !== '') writeSync(s.fd, s.buf);
    s.buf = '';
    closeSync(s.fd);
    s.fd = -1;
    const input = createReadStream(s.path);
    try {
      const lines = readlineModule().createInterface({ input, crlfDelay: Infinity });
      for await (const line of lines) {
        if (line === '') continue;
        yield { kind: 'result', index: r.index, result: JSON.parse(line) as SarifResult };
      }
    } finally {
      // Also when the reader stops early: its descriptor is not left open (nor closed twice).
      input.destroy();
    }
    r.spool = undefined;
    await rm(s.path, { force: true });
  }

  async function* drain(): AsyncGenerator<SarifEvent> {
    while (queue.length > 0 || pendingReplays.length > 0) {
      // Events queued before a run became ready keep their order; a run's spooled results follow its `run` event.
      while (queue.length > 0) {
        const e = queue.shift()!;
        yield e;
        if (e.kind === 'run') {
          const r = runs.get(e.index);
          const at = r === undefined ? -1 : pendingReplays.indexOf(r);
          if (at >= 0) {
            pendingReplays.splice(at, 1);
            // Results queued behind the `run` event arrived after the spooled ones: hold them back.
            const later = queue.splice(0, queue.length);
            yield* replay(r!);
            queue.push(...later);
          }
        }
      }
    }
  }

  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(options.readBytes ?? 256 * 1024);
    for (;;) {
      if (options.signal?.aborted === true)
        throw new AgentError('ABORTED', `reading ${name}'s SARIF was stopped`);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      let chunk = buf.subarray(0, bytesRead);
      // A UTF-8 byte-order mark is allowed at the start (RFC 8259 §8.1: parsers may ignore it).
      if (fed === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      fed += bytesRead;
      if (head === '') head = chunk.subarray(0, 120).toString('utf8');
      try {
        tokenizer.write(chunk);
      } catch (e) {
        if (tokens <= 1 && (e as Error).message !== NOT_OBJECT) {
          // Not JSON at all: a tool printing an error or a banner instead of SARIF. Show how it starts (masked).
          const start = new SecretMasker().maskText(head.split(/\r?\n/)[0]!.trim().slice(0, 100));
          throw fail(`it is not JSON (it starts with ${JSON.stringify(start)})`, e);
        }
        throw fail((e as Error).message, e);
      }
      if (fed - lastValueEnd > maxValue) {
        throw new AgentError(
          'SCANNER_FAILED',
          `${name} wrote a SARIF value larger than ${Math.round(maxValue / 1048576)} MiB (at byte ${lastValueEnd}); one result, tool or property must stay under that size`,
          { details: { reason: 'value_too_large', limit: maxValue } },
        );
      }
      yield* drain();
    }
    if (fed === 0) throw fail('the output is empty');
    if (!tokenizer.isEnded) {
      try {
        tokenizer.end();
      } catch (e) {
        throw fail(`it ends early (${(e as Error).message})`, e);
      }
    }
    if (!parser.isEnded) throw fail('it ends before the JSON document is complete');
    endRun(current);
    // Runs whose results were all spooled and that ended without a later value.
    for (const r of runs.values()) makeReady(r);
    yield* drain();
    yield { kind: 'end', runs: sawRuns, bytes: fed };
  } finally {
    await fh.close();
    for (const r of runs.values()) {
      if (r.spool !== undefined && r.spool.fd >= 0) closeSync(r.spool.fd);
    }
    await Promise.all(spools.map((p) => rm(p, { force: true })));
  }
}
