/**
 * How a site's TypeScript compiles against the published widget declarations:
 * modern modules and the DOM, strict, no ambient @types. The declarations are
 * rewritten (types.ts) and checked (src/widget/published-types.test.ts) with
 * these same options, so what passes here is what a consumer's build sees.
 */
import ts from 'typescript';

export const CONSUMER_COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  types: [],
  strict: true,
  noEmit: true,
};
