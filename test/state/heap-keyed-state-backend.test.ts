import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import { keyedStateBackendSuite } from "./keyed-state-backend-suite.ts";

keyedStateBackendSuite("HeapKeyedStateBackend", (range) => new HeapKeyedStateBackend(range));
