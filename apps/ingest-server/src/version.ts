// Written from package.json by tools/versionFile.mjs (before each build): edit the version there, not here.
/** This package's version (its package.json `version`), for user agents and diagnostics. */
export const VERSION = '0.0.0';
