// The entry of the `weir` command line: dispatches to the commands, prints help and version.

import { readFileSync } from "node:fs";
import { CliUsageError } from "./cli-errors.ts";
import { COMMANDS, mainHelp } from "./commands.ts";
import { type CliIO, EXIT_FAILED, EXIT_OK, reportError } from "./report.ts";

const stdio: CliIO = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Run the command line `args` (without node and the script); resolves with the exit code. */
export async function main(args: string[], io: CliIO = stdio): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case undefined:
    case "help":
    case "-h":
    case "--help":
      if (command === "help" && rest[0] !== undefined) return main([rest[0], "--help"], io);
      io.out(mainHelp(version()));
      return EXIT_OK;
    case "--version":
    case "-V":
    case "version":
      io.out(`weir ${version()}`);
      return EXIT_OK;
    // The commands load the engine: imported on demand, so that help and version answer at once.
    case "run":
      return (await import("./run-command.ts")).runCommand(rest, io);
    case "plan":
      return (await import("./plan-command.ts")).planCommand(rest, io);
    case "nexmark":
      return nexmark(rest, io);
    case "jobmanager":
      return (await import("./cluster-commands.ts")).jobmanagerCommand(rest, io);
    case "taskmanager":
      return (await import("./cluster-commands.ts")).taskmanagerCommand(rest, io);
    case "cluster":
      return (await import("./cluster-commands.ts")).clusterCommand(rest, io);
    case "list":
      return (await import("./cluster-commands.ts")).listCommand(rest, io);
    case "savepoint":
      return (await import("./cluster-commands.ts")).savepointCommand(rest, io);
    case "stop":
      return (await import("./cluster-commands.ts")).savepointCommand(rest, io, true);
    case "cancel":
      return (await import("./cluster-commands.ts")).cancelCommand(rest, io);
    default: {
      const what = command.startsWith("-") ? `unknown option '${command}'` : `unknown command '${command}'`;
      const near = COMMANDS.find((c) => editDistance(c.name, command.replace(/^-+/, "")) <= 2);
      const hint = near !== undefined ? `did you mean 'weir ${near.name}'? ` : "";
      return reportError(
        new CliUsageError(
          what,
          `${hint}run 'weir --help' for the commands (${COMMANDS.map((c) => c.name).join(", ")})`,
        ),
        io,
        false,
      );
    }
  }
}

type NexmarkCommand = (args: string[], io: CliIO) => Promise<number>;

/** `weir nexmark` lives in its own module (src/cli/nexmark-command.ts), loaded on demand. */
async function nexmark(args: string[], io: CliIO): Promise<number> {
  const url = new URL(
    import.meta.url.endsWith(".ts") ? "./nexmark-command.ts" : "./nexmark-command.js",
    import.meta.url,
  );
  let command: NexmarkCommand | undefined;
  try {
    const mod = (await import(url.href)) as { nexmarkCommand?: NexmarkCommand };
    command = mod.nexmarkCommand;
  } catch (e) {
    if (
      (e as { code?: string }).code !== "ERR_MODULE_NOT_FOUND" ||
      !String((e as Error).message).includes("nexmark-command")
    ) {
      return reportError(e, io, args.includes("--verbose"));
    }
  }
  if (typeof command !== "function") {
    io.err("weir nexmark: not available yet");
    return EXIT_FAILED;
  }
  try {
    return await command(args, io);
  } catch (e) {
    return reportError(e, io, args.includes("--verbose"));
  }
}

/** Levenshtein distance: how many edits turn `a` into `b` (for "did you mean"). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}
