/**
 * Makes the widget's type declarations stand on their own. tsc emits them
 * (tsconfig.widget.json, into dist/widget-types) as the source is written:
 * the protocol's types are `z.infer<typeof schema>` and the element extends
 * `LitElement`, so a consumer would need zod and Lit installed just to
 * type-check, although the bundles carry everything they run. This rewrites
 * them into dist/widget/types, which both `beckon-widget` and `beckon/widget`
 * publish:
 *
 * - a type alias computed from a zod schema becomes the plain type it
 *   computes (printed by the type checker), and the schemas themselves (values
 *   for validating input, not part of the widget's API) are left out;
 * - a class extending `LitElement` would extend `HTMLElement`, without Lit's
 *   own members (`BeckonInvite` is an `HTMLElement` itself: Lit draws only
 *   its card);
 * - Lit's `ReactiveController` and `ReactiveControllerHost`, which
 *   `ConnectionController` implements and takes and `BeckonInvite` is, are
 *   copied from Lit's own declarations (interfaces: any Lit element is still
 *   a host).
 *
 * It fails when a rewrite finds nothing to rewrite or anything of zod or Lit
 * is left, so a change in the source cannot quietly break what consumers get.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { CONSUMER_COMPILER_OPTIONS } from './consumer-options.js';

const emitted = 'dist/widget-types';
const published = 'dist/widget/types';

class TypesError extends Error {}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.d.ts'))
    .map((name) => join(dir, name));
}

/** The interfaces a Lit import names, as Lit declares them (found through the type checker). */
function litInterfaces(checker: ts.TypeChecker, statement: ts.ImportDeclaration): string {
  const names = statement.importClause?.namedBindings;
  if (!names || !ts.isNamedImports(names)) throw new TypesError('a Lit import without named imports');
  const texts = names.elements.map((element) => {
    const symbol = checker.getAliasedSymbol(checker.getSymbolAtLocation(element.name)!);
    const declaration = symbol.declarations?.find(ts.isInterfaceDeclaration);
    if (!declaration) throw new TypesError(`Lit's ${element.name.text} is no longer an interface`);
    return declaration.getText(declaration.getSourceFile()).replace(/^export /, '');
  });
  return `/** Lit's ${names.elements.map((e) => e.name.text).join(' and ')}, copied from Lit's declarations so that Lit need not be installed to type-check. */\n${texts.join('\n')}\n`;
}

const mentionsZod = (text: string) => /\bz\.|['"]zod['"]/.test(text);
const mentionsLit = (text: string) =>
  /['"]lit['"]|\bLitElement\b|\b(PropertyDeclarations|TemplateResult|CSSResult)\b/.test(text);

/** Rewrites every emitted declaration file; returns the published files' text by path. */
function standaloneTypes(from = emitted): Map<string, string> {
  const files = declarationFiles(from);
  const program = ts.createProgram(files, CONSUMER_COMPILER_OPTIONS);
  const checker = program.getTypeChecker();
  const out = new Map<string, string>();
  let flattened = 0;
  let litRewrites = 0;
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const parts: string[] = [];
    for (const statement of source.statements) {
      const text = statement.getFullText(source);
      const leading = text.slice(0, statement.getStart(source) - statement.getFullStart());
      if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
        const from = statement.moduleSpecifier.text;
        if (from === 'zod') continue;
        if (from === 'lit') {
          litRewrites++;
          // The controller's interfaces come from Lit's own text; the element's Lit names are dropped below.
          if (/ReactiveController/.test(text))
            parts.push(leading.replace(/^\n+/, '') + litInterfaces(checker, statement));
          continue;
        }
      }
      if (ts.isVariableStatement(statement) && (mentionsZod(text) || /import\("lit"\)/.test(text))) continue;
      if (ts.isTypeAliasDeclaration(statement) && mentionsZod(text)) {
        const type = checker.getTypeAtLocation(statement.name);
        const printed = checker.typeToString(
          type,
          statement,
          ts.TypeFormatFlags.NoTruncation |
            ts.TypeFormatFlags.InTypeAlias |
            ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType,
        );
        if (mentionsZod(printed)) throw new TypesError(`${file}: ${statement.name.text} still names zod: ${printed}`);
        parts.push(`${leading}export type ${statement.name.text} = ${printed};`);
        flattened++;
        continue;
      }
      if (ts.isClassDeclaration(statement) && /\bextends LitElement\b/.test(text)) {
        const members = statement.members.filter((m) => !mentionsLit(m.getText(source)));
        const head = text
          .slice(0, statement.members.pos - statement.getFullStart())
          .replace(/\bextends LitElement\b/, 'extends HTMLElement');
        parts.push(head + members.map((m) => m.getFullText(source)).join('') + '\n}');
        litRewrites++;
        continue;
      }
      parts.push(text);
    }
    const result = parts.join('').replace(/^\n+/, '') + '\n';
    if (mentionsZod(result) || /['"]lit['"]|LitElement/.test(result)) {
      throw new TypesError(`${file}: zod or Lit is still named after the rewrite`);
    }
    out.set(relative(from, file), result);
  }
  // Each rewrite must have found what it replaces: the declarations changed shape otherwise.
  if (flattened === 0)
    throw new TypesError('no zod-derived type found to flatten: the protocol changed, check this script');
  if (litRewrites < 2)
    throw new TypesError(
      `expected the element's and its controller's imports of Lit's controller interfaces, found ${litRewrites} Lit rewrites`,
    );
  return out;
}

function main(): void {
  const files = standaloneTypes();
  rmSync(published, { recursive: true, force: true });
  for (const [path, text] of files) {
    mkdirSync(dirname(join(published, path)), { recursive: true });
    writeFileSync(join(published, path), text);
  }
  process.stdout.write(`widget types: ${files.size} declaration files without zod or Lit in ${published}\n`);
}

try {
  main();
} catch (error) {
  if (!(error instanceof TypesError)) throw error;
  process.stderr.write(`widget types: ${error.message}\n`);
  process.exit(1);
}
