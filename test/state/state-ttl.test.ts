import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import { stateTtlSuite } from "./state-ttl-suite.ts";

stateTtlSuite("HeapKeyedStateBackend", (range) => new HeapKeyedStateBackend(range));
