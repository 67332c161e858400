// Public entry `weir-stream/cluster`: running a job module on the local MiniCluster, one worker
// thread per slot, from code (what `weir run` does). The main entry stays free of the cluster
// layer, so a program that only builds and runs jobs in its own thread never loads it.

export { type ClusterJobClient, type RunJobOptions, runJob, submitJob } from "./mini-cluster.ts";
