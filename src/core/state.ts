// Keyed state as user code sees it: typed descriptors and the state handles they yield.

import { InvalidArgumentError } from "./errors.ts";
import type { TypeInformation } from "./types/type-info.ts";

export interface ValueState<T> {
  /** The value for the current key, or undefined when none was set. */
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

export abstract class StateDescriptor<T> {
  abstract readonly kind: "value";
  readonly name: string;
  readonly type: TypeInformation<T> | undefined;
  constructor(name: string, type?: TypeInformation<T>) {
    if (typeof name !== "string" || name.length === 0) {
      throw new InvalidArgumentError("a state descriptor needs a non-empty name");
    }
    this.name = name;
    this.type = type;
  }
}

export class ValueStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = "value" as const;
}

/** Gives a keyed function its state; only available on a keyed stream. */
export interface KeyedStateStore {
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
}
