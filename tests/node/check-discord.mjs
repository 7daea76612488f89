// Type-checks a Discord "execute webhook" body (read as JSON on stdin)
// against discord-api-types' RESTPostAPIWebhookWithTokenJSONBody with the
// TypeScript compiler: an independent description of the shape, including
// excess-property checks (an unknown key fails). Prints "ok" or the errors.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const body = readFileSync(0, "utf8");
JSON.parse(body); // plain JSON, not just a TypeScript expression
// A virtual file beside node_modules, so the import resolves; nothing is written.
const file = path.join(here, "__discord_body__.ts");
const source = `import type { RESTPostAPIWebhookWithTokenJSONBody } from "discord-api-types/v10";
const body = (${body.trim()}) satisfies RESTPostAPIWebhookWithTokenJSONBody;
export default body;
`;
const options = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  exactOptionalPropertyTypes: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
};
const host = ts.createCompilerHost(options);
const { getSourceFile, fileExists, readFile } = host;
host.getSourceFile = (name, lang, ...rest) =>
  name === file ? ts.createSourceFile(name, source, lang) : getSourceFile.call(host, name, lang, ...rest);
host.fileExists = (name) => name === file || fileExists.call(host, name);
host.readFile = (name) => (name === file ? source : readFile.call(host, name));
const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], options, host));
if (diagnostics.length > 0) {
  console.log(ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => here,
    getNewLine: () => "\n",
  }));
  process.exit(1);
}
console.log("ok");
