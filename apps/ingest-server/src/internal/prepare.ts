import * as crypto from 'node:crypto';
import type { Asset, Finding } from '@rediver/core';

/** A finding ready to upsert: what the store writes, computed off the main thread. */
export interface PreparedFinding {
  fingerprint: string;
  type: string;
  severity: string;
  title: string;
  /** The finding as JSON. */
  data: string;
  /** Hex SHA-256 of `data`: a changed finding is an update, the same one is skipped. */
  hash: string;
}

/** An asset ready to upsert (by type and value). */
export interface PreparedAsset {
  key: string;
  type: string;
  value: string;
  data: string;
  hash: string;
}

/** One-shot hashing (Node >= 20.12): about twice as fast as a Hash object for small inputs. */
const oneShot = (
  crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }
).hash;

/** Hex SHA-256 of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return oneShot !== undefined
    ? oneShot('sha256', data, 'hex')
    : crypto.createHash('sha256').update(data).digest('hex');
}

/** The fingerprint a finding is upserted by: its own, or one derived from what identifies it. */
export function findingFingerprint(finding: Finding): string {
  if (typeof finding.fingerprint === 'string' && finding.fingerprint.length > 0) return finding.fingerprint;
  return sha256(
    JSON.stringify([
      finding.type,
      finding.rule_id ?? null,
      finding.title,
      finding.asset_ref ?? null,
      finding.asset_value ?? null,
      finding.location?.path ?? null,
      finding.location?.start_line ?? null,
      finding.location?.start_column ?? null,
    ]),
  );
}

/** Serialises and hashes validated findings for the store. */
export function prepareFindings(findings: readonly Finding[]): PreparedFinding[] {
  return findings.map((f) => {
    const data = JSON.stringify(f);
    return {
      fingerprint: findingFingerprint(f),
      type: f.type,
      severity: f.severity,
      title: f.title,
      data,
      hash: sha256(data),
    };
  });
}

/** Serialises and hashes validated assets for the store. */
export function prepareAssets(assets: readonly Asset[]): PreparedAsset[] {
  return assets.map((a) => {
    const data = JSON.stringify(a);
    return { key: `${a.type}\u0000${a.value}`, type: a.type, value: a.value, data, hash: sha256(data) };
  });
}

/**
 * Rows as they cross from a body worker to the main thread: every field of every row in one string, with the
 * end of each field. Structured clone copies one string and one typed array at memory speed, where 500 objects of
 * six strings cost milliseconds on each side; the main thread takes the fields back as slices of that string.
 */
export interface PackedRows {
  text: string;
  ends: Uint32Array;
}

const FINDING_FIELDS = ['fingerprint', 'type', 'severity', 'title', 'data', 'hash'] as const;
const ASSET_FIELDS = ['key', 'type', 'value', 'data', 'hash'] as const;

function pack<T extends Record<string, string>>(
  rows: readonly T[],
  fields: readonly (keyof T)[],
): PackedRows {
  const parts: string[] = [];
  const ends = new Uint32Array(rows.length * fields.length);
  let at = 0;
  let n = 0;
  for (const row of rows) {
    for (const field of fields) {
      const value = row[field]!;
      parts.push(value);
      at += value.length;
      ends[n++] = at;
    }
  }
  return { text: parts.join(''), ends };
}

function unpack<T>(packed: PackedRows, fields: readonly string[]): T[] {
  const rows: T[] = [];
  const { text, ends } = packed;
  let start = 0;
  for (let n = 0; n < ends.length;) {
    const row: Record<string, string> = {};
    for (const field of fields) {
      const end = ends[n++]!;
      row[field] = text.slice(start, end);
      start = end;
    }
    rows.push(row as T);
  }
  return rows;
}

/** Packs findings for the trip to the main thread. */
export function packFindings(rows: readonly PreparedFinding[]): PackedRows {
  return pack(rows as unknown as Record<string, string>[], FINDING_FIELDS);
}

/** Findings back from `packFindings`. */
export function unpackFindings(packed: PackedRows): PreparedFinding[] {
  return unpack(packed, FINDING_FIELDS);
}

/** Packs assets for the trip to the main thread. */
export function packAssets(rows: readonly PreparedAsset[]): PackedRows {
  return pack(rows as unknown as Record<string, string>[], ASSET_FIELDS);
}

/** Assets back from `packAssets`. */
export function unpackAssets(packed: PackedRows): PreparedAsset[] {
  return unpack(packed, ASSET_FIELDS);
}
