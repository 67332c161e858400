// The command-line parser: options declared per command, parsed by hand (no dependency), with
// one-line usage errors that say what was wrong and what to do.

import { CliUsageError } from "./cli-errors.ts";

export interface OptionSpec {
  /** Long name without dashes: "parallelism" for --parallelism. */
  readonly name: string;
  /** One-letter alias without the dash: "p" for -p. */
  readonly short?: string;
  /** Placeholder of the value ("N", "ms"); absent for a flag. */
  readonly value?: string;
  readonly help: string;
  /** A value to show in "e.g." hints (default: 4 for N, 100 for ms). */
  readonly example?: string;
}

export interface ParsedArgs {
  readonly positionals: string[];
  /** Option values by long name (the last one wins when repeated). */
  readonly values: Map<string, string>;
  /** Flags given, by long name. */
  readonly flags: Set<string>;
}

export const HELP_OPTION: OptionSpec = { name: "help", short: "h", help: "show this help" };

/** `-p/--parallelism` or `--verbose`: how an option is named in messages. */
export function optionLabel(spec: OptionSpec): string {
  return spec.short !== undefined ? `-${spec.short}/--${spec.name}` : `--${spec.name}`;
}

/**
 * Parse `args` against the options of `command`. Accepts `--name value`, `--name=value`,
 * `-x value`, `-xvalue`, and `--` to end the options.
 */
export function parseArgs(
  command: string,
  args: readonly string[],
  specs: readonly OptionSpec[],
): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short !== undefined).map((s) => [s.short!, s]));
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const seeHelp = `see 'weir ${command} --help'`;
  const needsValue = (spec: OptionSpec) =>
    new CliUsageError(
      `option ${optionLabel(spec)} of 'weir ${command}' needs a value`,
      `e.g. ${example(spec)}`,
    );

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
      spec = byLong.get(name);
    } else {
      spec = byShort.get(arg[1]!);
      if (arg.length > 2) inline = arg[2] === "=" ? arg.slice(3) : arg.slice(2);
      if (spec !== undefined && spec.value === undefined && inline !== undefined) spec = undefined;
    }
    if (spec === undefined) {
      throw new CliUsageError(`unknown option '${arg}' for 'weir ${command}'`, seeHelp);
    }
    if (spec.value === undefined) {
      if (inline !== undefined) {
        throw new CliUsageError(`option ${optionLabel(spec)} of 'weir ${command}' takes no value`, seeHelp);
      }
      flags.add(spec.name);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith("-") && !/^-\d/.test(next) && next !== "-")) {
        throw needsValue(spec);
      }
      value = next;
      i++;
    }
    if (value.length === 0) throw needsValue(spec);
    values.set(spec.name, value);
  }
  return { positionals, values, flags };
}

/** `-p 4`, `--buffer-timeout 100`: an example use of an option. */
export function example(spec: OptionSpec, value?: number): string {
  const v = value ?? spec.example ?? (spec.value === "N" ? 4 : spec.value === "ms" ? 100 : `<${spec.value}>`);
  return spec.short !== undefined ? `-${spec.short} ${v}` : `--${spec.name} ${v}`;
}

/** A whole number in [min, max], or a usage error naming the option. */
export function integerOption(
  command: string,
  spec: OptionSpec,
  raw: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^[+]?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = min === 1 ? "a positive integer" : `an integer >= ${min}`;
    const limit = n > max ? ` of at most ${max}` : "";
    throw new CliUsageError(
      `${optionLabel(spec)} of 'weir ${command}' must be ${range}${limit}, got '${raw}'`,
      `e.g. ${example(spec)}`,
    );
  }
  return n;
}

/** A number of milliseconds >= 0, or -1; or a usage error naming the option. */
export function bufferTimeoutOption(
  command: string,
  spec: OptionSpec,
  raw: string | undefined,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || (n < 0 && n !== -1)) {
    throw new CliUsageError(
      `${optionLabel(spec)} of 'weir ${command}' must be a number of milliseconds >= 0 (or -1: send only full buffers), got '${raw}'`,
      `e.g. ${example(spec)}`,
    );
  }
  return n;
}

/** One of `choices` (as typed on the command line), or a usage error naming the option. */
export function choiceOption<C extends string>(
  command: string,
  spec: OptionSpec,
  raw: string | undefined,
  choices: readonly C[],
): C | undefined {
  if (raw === undefined) return undefined;
  const choice = choices.find((c) => c === raw.trim().toLowerCase());
  if (choice === undefined) {
    const list = `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`;
    throw new CliUsageError(
      `${optionLabel(spec)} of 'weir ${command}' must be ${list}, got '${raw}'`,
      `e.g. ${example(spec)}`,
    );
  }
  return choice;
}
