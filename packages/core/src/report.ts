/**
 * RIS — the Rediver Interchange Schema, v1: the report format the platform ingests.
 * Field names are the wire's (snake_case) so a report can be serialised as is.
 */

/** Finding severities, most severe first. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
/** A finding's severity. */
export type Severity = (typeof SEVERITIES)[number];

/** Finding kinds the platform knows; other strings are accepted as they are. */
export const FINDING_TYPES = [
  'vulnerability',
  'secret',
  'misconfiguration',
  'code',
  'compliance',
  'web3',
] as const;
/** A finding's kind. */
export type FindingType = (typeof FINDING_TYPES)[number] | (string & {});

/** Asset kinds the platform knows; other strings are accepted as they are. */
export const ASSET_TYPES = [
  'repository',
  'domain',
  'host',
  'ip_address',
  'container_image',
  'cloud_resource',
  'url',
] as const;
/** An asset's kind. */
export type AssetType = (typeof ASSET_TYPES)[number] | (string & {});

/** How much of the target a scan covered. */
export const COVERAGE_TYPES = ['full', 'incremental', 'partial'] as const;
/** How much of the target a scan covered. */
export type CoverageType = (typeof COVERAGE_TYPES)[number];

/** The RIS version this SDK writes. */
export const RIS_VERSION = '1.0';

/** Free-form properties carried alongside typed fields. */
export type Properties = Record<string, unknown>;

/** Source-control context of a scan. */
export interface BranchInfo {
  name?: string;
  is_default_branch?: boolean;
  commit_sha?: string;
  base_branch?: string;
  pull_request_number?: number;
  pull_request_url?: string;
  repository_url?: string;
}

/** Report metadata: `id` and `timestamp` identify the scan. */
export interface ReportMetadata {
  /** Report id: 1..256 characters of `[A-Za-z0-9_-]` (see `isValidReportId`). */
  id: string;
  /** RFC 3339 time of the scan. */
  timestamp: string;
  duration_ms?: number;
  source_type?: string;
  source_ref?: string;
  coverage_type?: CoverageType;
  branch?: BranchInfo;
  scope?: Properties;
  properties?: Properties;
}

/** The tool that produced the report. */
export interface ToolInfo {
  name: string;
  version?: string;
  vendor?: string;
  info_url?: string;
  capabilities?: string[];
  properties?: Properties;
}

/** Something scanned; findings point at it through `asset_ref`. */
export interface Asset {
  /** Optional; referenced by findings' `asset_ref`. */
  id?: string;
  type: AssetType;
  value: string;
  name?: string;
  tags?: string[];
  criticality?: string;
  properties?: Properties;
}

/** Where in the asset a finding is. */
export interface FindingLocation {
  path?: string;
  start_line?: number;
  end_line?: number;
  start_column?: number;
  end_column?: number;
  snippet?: string;
}

/** CVSS score and vector. */
export interface CvssInfo {
  score?: number;
  vector?: string;
  version?: string;
}

/** Vulnerability details of a finding. */
export interface VulnerabilityInfo {
  cve?: string;
  cwe?: string[];
  cvss?: CvssInfo;
  package?: string;
  installed_version?: string;
  fixed_version?: string;
  references?: string[];
  properties?: Properties;
}

/** Secret details of a finding (never the secret's full value). */
export interface SecretInfo {
  secret_type?: string;
  service?: string;
  masked_value?: string;
  verified?: boolean;
  entropy?: number;
  properties?: Properties;
}

/** One step of a data flow (taint trace). */
export interface DataFlowStep {
  location: FindingLocation;
  message?: string;
}

/** One security finding. */
export interface Finding {
  type: FindingType;
  title: string;
  description?: string;
  severity: Severity;
  rule_id?: string;
  asset_ref?: string;
  asset_value?: string;
  location?: FindingLocation;
  vulnerability?: VulnerabilityInfo;
  secret?: SecretInfo;
  fingerprint?: string;
  partial_fingerprints?: Record<string, string>;
  status?: string;
  data_flow?: DataFlowStep[];
  properties?: Properties;
}

/** A software dependency found by SCA tools. */
export interface Dependency {
  name: string;
  version?: string;
  ecosystem?: string;
  purl?: string;
  direct?: boolean;
  properties?: Properties;
}

/** A whole RIS report. */
export interface Report {
  version: string;
  $schema?: string;
  metadata: ReportMetadata;
  tool?: ToolInfo;
  assets?: Asset[];
  findings?: Finding[];
  dependencies?: Dependency[];
  properties?: Properties;
}
