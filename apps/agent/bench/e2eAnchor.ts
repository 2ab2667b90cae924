// The anchor of the end-to-end bench (issue 13): only the irreducible work of getting a SARIF's results to the
// platform. Stream-parses the file (the agent's parser, same paths), maps each result to the least finding the
// platform accepts, cuts 500-result JSON chunks, zstd-compresses each (level 3, like the agent) and POSTs them to the
// ingest server with 4 concurrent keep-alive requests, overlapping parsing and sending. Run as a child process:
//   node --import tsx bench/e2eAnchor.ts <sarif> <results> <server url> <api key>
// Prints one JSON line: { findings, seconds, cpuSeconds, peakRssMb }.
import { createReadStream } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { API_PATHS } from '@rediver/core';
import { Tokenizer, TokenParser } from '@streamparser/json';
import { Compressor } from 'zstd-napi';

const PER_CHUNK = 500;
const IN_FLIGHT = 4;

interface SarifResult {
  ruleId?: string;
  level?: string;
  message?: { text?: string };
  locations?: {
    physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } };
  }[];
}

const SEVERITY: Record<string, string> = { error: 'high', warning: 'medium', note: 'low' };

async function main(): Promise<void> {
  const [file, total, url, key] = process.argv.slice(2) as [string, string, string, string];
  const results = Number(total);
  const totalChunks = Math.ceil(results / PER_CHUNK);
  const reportId = `anchor-${process.pid}-${Date.now()}`;
  const target = new URL(API_PATHS.ingestChunk, url);
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: 3, contentSizeFlag: true, checksumFlag: true });

  const post = (body: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${key}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode !== undefined && res.statusCode < 300
              ? resolve()
              : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const inFlight = new Set<Promise<void>>();
  let index = 0;
  let findings: unknown[] = [];
  const send = async (): Promise<void> => {
    const i = index++;
    const chunk = {
      report_id: reportId,
      chunk_index: i,
      ...(i === 0
        ? { tool: { name: 'anchor' }, metadata: { id: reportId, timestamp: new Date().toISOString() } }
        : {}),
      findings,
      total_chunks: totalChunks,
      is_final: i === totalChunks - 1,
    };
    findings = [];
    const data = compressor.compress(Buffer.from(JSON.stringify(chunk))).toString('base64');
    const body = JSON.stringify({
      report_id: reportId,
      chunk_index: i,
      total_chunks: totalChunks,
      compression: 'zstd',
      data,
      is_final: i === totalChunks - 1,
    });
    while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    const p = post(body).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let count = 0;
  let pending = Promise.resolve();
  const tokenizer = new Tokenizer();
  const parser = new TokenParser({ paths: ['$.runs.*.results.*'], keepStack: false });
  tokenizer.onToken = (t) => parser.write(t);
  parser.onValue = ({ value }) => {
    const r = value as SarifResult;
    const loc = r.locations?.[0]?.physicalLocation;
    findings.push({
      type: 'code',
      title: r.message?.text ?? r.ruleId ?? 'result',
      severity: SEVERITY[r.level ?? 'warning'] ?? 'medium',
      rule_id: r.ruleId,
      location: { path: loc?.artifactLocation?.uri, start_line: loc?.region?.startLine },
    });
    count++;
    if (findings.length === PER_CHUNK) pending = pending.then(send);
  };
  for await (const buf of createReadStream(file, { highWaterMark: 1 << 18 })) {
    tokenizer.write(buf as Buffer);
    await pending; // back pressure: parse no further than the sending allows
  }
  if (findings.length > 0) pending = pending.then(send);
  await pending;
  await Promise.all(inFlight);
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  process.stdout.write(
    `${JSON.stringify({
      findings: count,
      seconds: (performance.now() - t0) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

await main();
