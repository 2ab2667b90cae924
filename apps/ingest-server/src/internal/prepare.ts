import { createHash } from 'node:crypto';
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

/** Hex SHA-256 of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
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
