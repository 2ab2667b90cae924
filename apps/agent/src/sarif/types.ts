/* The subset of SARIF 2.1.0 the conversion reads. Everything is optional: tools differ, and a log is input. */

/** A SARIF message (§3.11). */
export interface SarifMessage {
  text?: string;
  markdown?: string;
  id?: string;
}

/** A region of an artifact (§3.30). */
export interface SarifRegion {
  startLine?: number;
  startColumn?: number;
  endLine?: number;
  endColumn?: number;
  snippet?: { text?: string };
}

/** An artifact location (§3.4): a URI, maybe relative to a base id, or an index into `run.artifacts`. */
export interface SarifArtifactLocation {
  uri?: string;
  uriBaseId?: string;
  index?: number;
}

/** A physical location (§3.29). */
export interface SarifPhysicalLocation {
  artifactLocation?: SarifArtifactLocation;
  region?: SarifRegion;
}

/** A location (§3.28). */
export interface SarifLocation {
  physicalLocation?: SarifPhysicalLocation;
}

/** A reporting descriptor: a rule (§3.49). */
export interface SarifRule {
  id?: string;
  name?: string;
  shortDescription?: SarifMessage;
  fullDescription?: SarifMessage;
  help?: SarifMessage;
  helpUri?: string;
  defaultConfiguration?: { level?: string };
  properties?: Record<string, unknown>;
  relationships?: { target?: { id?: string; toolComponent?: { name?: string } } }[];
}

/** A suppression (§3.35). */
export interface SarifSuppression {
  kind?: string;
  status?: string;
}

/** A result (§3.27). */
export interface SarifResult {
  ruleId?: string;
  ruleIndex?: number;
  rule?: { id?: string; index?: number; toolComponent?: { index?: number; name?: string } };
  level?: string;
  kind?: string;
  message?: SarifMessage;
  locations?: SarifLocation[];
  fingerprints?: Record<string, string>;
  partialFingerprints?: Record<string, string>;
  properties?: Record<string, unknown>;
  suppressions?: SarifSuppression[];
  baselineState?: string;
}

/** A tool component: the driver or an extension (§3.19). */
export interface SarifToolComponent {
  name?: string;
  version?: string;
  semanticVersion?: string;
  organization?: string;
  informationUri?: string;
  rules?: SarifRule[];
}

/** A notification (§3.58). */
export interface SarifNotification {
  level?: string;
  message?: SarifMessage;
  descriptor?: { id?: string };
  locations?: SarifLocation[];
}

/** An invocation (§3.20). */
export interface SarifInvocation {
  executionSuccessful?: boolean;
  exitCode?: number;
  toolExecutionNotifications?: SarifNotification[];
  toolConfigurationNotifications?: SarifNotification[];
}

/** An artifact (§3.24): only its location is read. */
export interface SarifArtifact {
  location?: SarifArtifactLocation;
}

/** A run (§3.14). */
export interface SarifRun {
  tool?: { driver?: SarifToolComponent; extensions?: SarifToolComponent[] };
  originalUriBaseIds?: Record<string, SarifArtifactLocation>;
  artifacts?: SarifArtifact[];
  invocations?: SarifInvocation[];
  results?: SarifResult[];
}

/** A SARIF 2.1.0 log (the fields the agent reads). */
export interface SarifLog {
  version?: string;
  runs?: SarifRun[];
}
