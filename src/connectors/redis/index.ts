// Redis connectors (weir-stream/connectors/redis): Redis Streams source and sink, and an upsert
// sink for hashes/keys. Filled in by the following commits.
export {};
