#!/usr/bin/env node
// The `weir` command: registers tsx (so job files and Weir itself may be TypeScript), then runs
// the CLI and exits with its code.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
