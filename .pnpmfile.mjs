// pnpm hooks for this workspace. `beforePacking` shapes the package.json that `pnpm pack` and `pnpm publish`
// put in a tarball: the `@rediver/source` export condition (tests and type checks in this repository read
// other packages' sources through it) points at `src/`, which is not published, so it is removed there.

/** The export condition that resolves a workspace package to its TypeScript sources. */
const SOURCE_CONDITION = '@rediver/source';

/** `exports` without the source condition, at any depth. */
function withoutSourceCondition(value) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key !== SOURCE_CONDITION) out[key] = withoutSourceCondition(inner);
  }
  return out;
}

export const hooks = {
  beforePacking(pkg) {
    if (pkg.exports !== undefined) pkg.exports = withoutSourceCondition(pkg.exports);
    return pkg;
  },
};
