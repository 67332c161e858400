// ParameterTool: a job's arguments (`weir run job.ts -- --input in.txt --count 10`) parsed into
// named values, read typed (as Flink's ParameterTool), with errors that name the argument.

import { WeirError } from "../core/errors.ts";

/** A job argument that is missing or not of the type asked for. */
export class JobArgumentError extends WeirError {
  constructor(
    message: string,
    /** The argument's name, without dashes. */
    readonly argument: string,
  ) {
    super("INVALID_ARGUMENT", message);
  }
}

/**
 * Named job arguments. `fromArgs(["--input", "in.txt", "--count", "10", "--verbose"])` gives
 * input = "in.txt", count = "10" and verbose = "true" (a name without a value is a flag).
 * `--name=value` works too, and a value may be a negative number (`--offset -5`).
 */
export class ParameterTool {
  private constructor(private readonly values: ReadonlyMap<string, string>) {}

  /** Parse `--name value`, `-name value`, `--name=value` and `--flag`; anything else is an error. */
  static fromArgs(args: readonly string[]): ParameterTool {
    const values = new Map<string, string>();
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      const name = /^--?([^-=][^=]*)(?:=([\s\S]*))?$/.exec(arg);
      if (name === null) {
        throw new JobArgumentError(
          `job argument '${arg}' has no name: give job arguments as --name value (or --name=value, or --flag)`,
          arg,
        );
      }
      const key = name[1]!;
      if (name[2] !== undefined) {
        values.set(key, name[2]);
        continue;
      }
      const next = args[i + 1];
      if (next !== undefined && (!next.startsWith("-") || isNumber(next))) {
        values.set(key, next);
        i++;
      } else {
        values.set(key, "true");
      }
    }
    return new ParameterTool(values);
  }

  /** From names and values (numbers and booleans are kept as their text). */
  static fromMap(map: Readonly<Record<string, string | number | boolean>>): ParameterTool {
    return new ParameterTool(new Map(Object.entries(map).map(([k, v]) => [k, String(v)])));
  }

  /** The number of arguments. */
  get size(): number {
    return this.values.size;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The argument's text, or `defaultValue` (undefined when none is given) when it is absent. */
  get(name: string): string | undefined;
  get(name: string, defaultValue: string): string;
  get(name: string, defaultValue?: string): string | undefined {
    return this.values.get(name) ?? defaultValue;
  }

  /** The argument's text; an error naming it when it is absent. */
  getRequired(name: string): string {
    const v = this.values.get(name);
    if (v === undefined) {
      throw new JobArgumentError(
        `job argument --${name} is required: run the job with '-- --${name} <value>' after the weir options`,
        name,
      );
    }
    return v;
  }

  /** The same as getRequired(name). */
  required(name: string): string {
    return this.getRequired(name);
  }

  /** A whole number (safe integer); an error when it is not one, or absent without a default. */
  getInt(name: string, defaultValue?: number): number {
    return this.typed(name, defaultValue, "a whole number", "10", (s) => {
      const n = /^[+-]?\d+$/.test(s) ? Number(s) : Number.NaN;
      return Number.isSafeInteger(n) ? n : undefined;
    });
  }

  /** The same as getInt: JavaScript numbers hold whole numbers up to 2^53 exactly. */
  getLong(name: string, defaultValue?: number): number {
    return this.getInt(name, defaultValue);
  }

  /** Any finite number (`1.5`, `-2`, `1e6`). */
  getNumber(name: string, defaultValue?: number): number {
    return this.typed(name, defaultValue, "a number", "1.5", (s) => {
      const n = isNumber(s) ? Number(s) : Number.NaN;
      return Number.isFinite(n) ? n : undefined;
    });
  }

  /** The same as getNumber. */
  getDouble(name: string, defaultValue?: number): number {
    return this.getNumber(name, defaultValue);
  }

  /** true/false, yes/no, on/off or 1/0 (any case); a name given without a value is true. */
  getBoolean(name: string, defaultValue?: boolean): boolean {
    return this.typed(name, defaultValue, "true or false", "true", (s) => {
      const v = s.trim().toLowerCase();
      if (v === "true" || v === "yes" || v === "on" || v === "1") return true;
      if (v === "false" || v === "no" || v === "off" || v === "0") return false;
      return undefined;
    });
  }

  /** The names of the arguments given. */
  names(): string[] {
    return [...this.values.keys()];
  }

  /** Every argument as name → text. */
  toMap(): Record<string, string> {
    return Object.fromEntries(this.values);
  }

  private typed<T>(
    name: string,
    defaultValue: T | undefined,
    what: string,
    example: string,
    parse: (s: string) => T | undefined,
  ): T {
    const raw = this.values.get(name);
    if (raw === undefined) {
      if (defaultValue !== undefined) return defaultValue;
      throw new JobArgumentError(
        `job argument --${name} is required (${what}): run the job with '-- --${name} ${example}' after the weir options`,
        name,
      );
    }
    const v = parse(raw);
    if (v === undefined) {
      throw new JobArgumentError(
        `job argument --${name} must be ${what}, got '${raw}': e.g. --${name} ${example}`,
        name,
      );
    }
    return v;
  }
}

function isNumber(s: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s.trim());
}
