#!/usr/bin/env node
// The `weir` command: runs the CLI and exits with its code. Installed from the package, it runs
// the compiled JavaScript in dist/ (tsx is loaded later, only to import a TypeScript job file).
// In a development checkout (src/ beside bin/), it runs the TypeScript sources under tsx, with
// the repository's tsconfig.json so that jobs importing "weir-stream" get the same sources.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const sources = new URL("../src/cli/main.ts", import.meta.url);
let main;
if (existsSync(sources)) {
  process.env.TSX_TSCONFIG_PATH ??= fileURLToPath(new URL("../tsconfig.json", import.meta.url));
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(sources.href));
} else {
  process.setSourceMapsEnabled(true); // stack traces name the sources (shipped inside the maps)
  ({ main } = await import("../dist/cli/main.js"));
}
process.exitCode = await main(process.argv.slice(2));
