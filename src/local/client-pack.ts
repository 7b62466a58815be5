/**
 * `npm run client:pack` — the integrators' client (src/client) as an npm package: `dist/zeus-client-<version>.tgz`.
 *
 * - `index.js`: src/client bundled as one ES module (esbuild) with zod inside, so the package has no
 *   dependencies; the contracts it validates with are compiled in, and no other code of this repository
 *   (the build fails when anything but src/client, src/contracts, src/lib or zod reaches the bundle).
 * - `*.d.ts`: TypeScript's declarations of src/client, with the wire types they use from src/contracts
 *   (`UsageEvent`, `IngestResponse`, `Problem`, …) written out in `wire.d.ts` as plain types.
 * - `package.json` (`exports`, `types`, `engines`), `README.md` (src/client/README.md) and the version of
 *   the API (package.json's, also `info.version` of /openapi.json).
 *
 * Publishing is `npm publish dist/zeus-client-<version>.tgz` (README, "The client package").
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import ts from 'typescript';
import { freshStage, packStage, ROOT, readRootPackage, writePackageJson } from './npm-pack.ts';

export const CLIENT_PACKAGE = 'zeus-client';
const ENTRY = join(ROOT, 'src/client/index.ts');
const root = readRootPackage();
const stage = freshStage('client-package');

// 1. The code: one ES module for Node, Workers, Deno and browsers.
const bundle = await build({
  entryPoints: [ENTRY],
  outfile: join(stage, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2022',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'eof',
  alias: { '@hono/zod-openapi': join(ROOT, 'src/local/client-zod-shim.ts') },
  metafile: true,
  logLevel: 'warning',
});
const outside = Object.keys(bundle.metafile.inputs).filter(
  (input) => !/^(src\/(client|contracts|lib)\/|src\/local\/client-zod-shim\.ts$|node_modules\/(zod|@asteasolutions\/zod-to-openapi)\/)/.test(input),
);
if (outside.length > 0) throw new Error(`client:pack: the bundle would carry code that is not the client's:\n${outside.join('\n')}`);

// 2. The types: declarations of src/client; the contracts' types it uses written out in wire.d.ts.
const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  types: [],
  strict: true,
  exactOptionalPropertyTypes: true,
  allowImportingTsExtensions: true,
  resolveJsonModule: true,
  skipLibCheck: true,
  declaration: true,
  emitDeclarationOnly: true,
  noEmit: false,
};
const program = ts.createProgram([ENTRY], options);
const diagnostics = ts.getPreEmitDiagnostics(program);
if (diagnostics.length > 0) {
  throw new Error(
    `client:pack: ${ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' })}`,
  );
}
const declarations = new Map<string, string>();
program.emit(undefined, (fileName, text) => {
  const rel = relative(join(ROOT, 'src'), fileName.replace(/\.d\.ts$/, '.ts'));
  if (rel.startsWith('client/')) declarations.set(rel.slice('client/'.length).replace(/\.ts$/, '.d.ts'), text);
});

const checker = program.getTypeChecker();
const FLAGS = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias | ts.TypeFormatFlags.MultilineObjectLiterals;
const CONTRACT_IMPORT = /(import|export)\s+(type\s+)?\{([^}]*)\}\s+from\s+'\.\.\/contracts\/([\w-]+)\.ts';/g;
const wire = new Map<string, string>();

/** `export type X = …` / `export declare const X: …` for one export of a contracts module, written out. */
function writeOut(module: string, name: string): string {
  const source = program.getSourceFile(join(ROOT, 'src/contracts', `${module}.ts`));
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  const symbol = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === name);
  if (!symbol) throw new Error(`client:pack: src/contracts/${module}.ts has no export ${name}`);
  if (symbol.flags & ts.SymbolFlags.TypeAlias) {
    return `export type ${name} = ${checker.typeToString(checker.getDeclaredTypeOfSymbol(symbol), undefined, FLAGS)};`;
  }
  if (symbol.flags & ts.SymbolFlags.Variable) {
    return `export declare const ${name}: ${checker.typeToString(checker.getTypeOfSymbol(symbol), undefined, FLAGS)};`;
  }
  throw new Error(`client:pack: src/contracts/${module}.ts's ${name} is neither a type nor a constant`);
}

for (const [file, text] of declarations) {
  const rewritten = text
    .replace(CONTRACT_IMPORT, (_all, verb: string, typeOnly: string | undefined, names: string, module: string) => {
      for (const spec of names
        .split(',')
        .map((n) => n.trim().replace(/^type\s+/, ''))
        .filter(Boolean)) {
        const name = spec.split(/\s+as\s+/)[0]!;
        if (!wire.has(name)) wire.set(name, writeOut(module, name));
      }
      return `${verb} ${typeOnly ?? ''}{${names}} from './wire.js';`;
    })
    .replace(/from '\.\/([\w-]+)\.ts'/g, "from './$1.js'");
  if (/from '\.\.\//.test(rewritten)) throw new Error(`client:pack: ${file} still imports from outside src/client`);
  writeFileSync(join(stage, file), rewritten);
}
const wireText = `/** The wire types of the Zeus resource usage API ${root.version} that this client uses (its src/contracts). */\n${[...wire.values()].join('\n')}\n`;
// Printed again by TypeScript: one member a line, as a person would write it.
writeFileSync(join(stage, 'wire.d.ts'), ts.createPrinter().printFile(ts.createSourceFile('wire.d.ts', wireText, ts.ScriptTarget.ES2022, true)));

// 3. The manifest and the README.
writePackageJson(stage, {
  name: CLIENT_PACKAGE,
  version: root.version,
  description: 'Typed client of the Zeus resource usage API: validates usage events, sends them in batches, retries safely.',
  license: root.license,
  type: 'module',
  exports: { '.': { types: './index.d.ts', default: './index.js' }, './package.json': './package.json' },
  main: './index.js',
  types: './index.d.ts',
  sideEffects: false,
  engines: { node: '>=20' },
  files: ['*.js', '*.d.ts', 'README.md'],
});
const readme = readFileSync(join(ROOT, 'src/client/README.md'), 'utf8');
if (!readme.includes(`from '${CLIENT_PACKAGE}'`)) throw new Error(`client:pack: src/client/README.md does not import from '${CLIENT_PACKAGE}'`);
writeFileSync(join(stage, 'README.md'), readme);

packStage(stage, 'client:pack');
