import type { PackageSectionName } from './types';

/**
 * Option names each package accepts. Filled from the packages' `DEFAULT_*_OPTIONS` plus their
 * callback/object options (see `wiring.ts`); used to refuse typos with a message naming the field.
 * A section without an entry accepts any key and lets the package's constructor judge.
 */
const sectionKeys = new Map<PackageSectionName, readonly string[]>();

/** Registers the option names a package section accepts (called by the wiring). */
export function registerSectionKeys(section: PackageSectionName, keys: readonly string[]): void {
  sectionKeys.set(section, [...new Set(keys)].sort());
}

/** The option names `section` accepts, or undefined when none were registered (then any key is accepted). */
export function sectionKeysOf(section: PackageSectionName): readonly string[] | undefined {
  return sectionKeys.get(section);
}
