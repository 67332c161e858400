import { after } from "node:test";
import type { KeyGroupRange } from "../../src/core/key-groups.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { keyedStateBackendSuite } from "./keyed-state-backend-suite.ts";
import { stateTtlSuite } from "./state-ttl-suite.ts";

// The heap backend's semantic and TTL tests, against the embedded backend. A tiny cache (16
// entries) makes most accesses go through LMDB rather than the write-back cache.
const created: EmbeddedKeyedStateBackend[] = [];
function create(cacheEntries: number) {
  return (range: KeyGroupRange) => {
    const b = new EmbeddedKeyedStateBackend(range, { cacheEntries });
    created.push(b);
    return b;
  };
}
after(() => {
  for (const b of created) b.dispose();
});

keyedStateBackendSuite("EmbeddedKeyedStateBackend", create(65_536));
keyedStateBackendSuite("EmbeddedKeyedStateBackend (16-entry cache)", create(16));
stateTtlSuite("EmbeddedKeyedStateBackend", create(65_536));
stateTtlSuite("EmbeddedKeyedStateBackend (16-entry cache)", create(16));
