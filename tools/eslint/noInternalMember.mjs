// `rediver/no-internal-member`: apps use the packages' public API only. A member, export or type whose TSDoc says
// `@internal` (e.g. `ChunkStore.db`) is for the package's own code; reaching it from an app couples the app to
// internals that change without a changeset. Type-aware: resolves the property or imported name to its
// declaration and reads its JSDoc tags. Declarations in the linted file's own project are allowed.

/** @param {string} file */
function projectOf(file) {
  const m = /[/\\](packages|apps)[/\\]([^/\\]+)[/\\]/.exec(file);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
export const noInternalMember = {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow members and exports of other projects marked @internal' },
    schema: [],
    messages: {
      internal:
        "'{{name}}' is marked @internal in {{project}}: use its public API (or add one there) instead of reaching in.",
    },
  },
  create(context) {
    const services = context.sourceCode.parserServices;
    if (!services?.program || !services.esTreeNodeToTSNodeMap) return {};
    const checker = services.program.getTypeChecker();
    const here = projectOf(context.filename);

    /** @param {import('eslint').Rule.Node} node @param {string} name */
    function check(node, name) {
      const tsNode = services.esTreeNodeToTSNodeMap.get(node);
      let symbol = checker.getSymbolAtLocation(tsNode);
      if (symbol === undefined) return;
      // Follow `import { x }` aliases to the declaration.
      if (symbol.flags & 2097152 /* ts.SymbolFlags.Alias */) symbol = checker.getAliasedSymbol(symbol);
      const decl = symbol.declarations?.[0];
      if (decl === undefined) return;
      const project = projectOf(decl.getSourceFile().fileName);
      if (project === undefined || project === here) return;
      if (symbol.getJsDocTags(checker).some((t) => t.name === 'internal')) {
        context.report({ node, messageId: 'internal', data: { name, project } });
      }
    }

    return {
      MemberExpression(node) {
        if (node.property.type === 'Identifier' && !node.computed) check(node.property, node.property.name);
      },
      ImportSpecifier(node) {
        check(node.local, node.local.name);
      },
    };
  },
};

export default { rules: { 'no-internal-member': noInternalMember } };
