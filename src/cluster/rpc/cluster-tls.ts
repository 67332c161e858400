// TLS of the cluster's connections (RPC, data exchange, REST): the PEM files given with --tls-cert,
// --tls-key and --tls-ca, read once at start, and the options node:tls takes for a listener and for
// a dialling side. Internal connections (TaskManager to JobManager, TaskManager to TaskManager) are
// mutually authenticated by the cluster's CA, as Flink's internal SSL; a client verifies the
// JobManager's certificate and its host name, and needs no certificate of its own.

import { readFileSync } from "node:fs";
import type { ConnectionOptions, TlsOptions } from "node:tls";
import { isIP } from "node:net";
import { WeirError } from "../../core/errors.ts";

/** The PEM material of one process. */
export interface ClusterTls {
  /** The CA that signs the cluster's certificates: every peer's certificate is verified against it. */
  ca: Buffer;
  /** This process's certificate (chain): required to listen (JobManager, TaskManager); optional for clients. */
  cert?: Buffer;
  /** The private key of `cert`. */
  key?: Buffer;
}

/** The files, by the flag that names them. */
export interface ClusterTlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

/** The TLS files are missing, unreadable or do not go together. */
export class ClusterTlsError extends WeirError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/**
 * Read the files; undefined when none is given (plain TCP). `server`: the process listens, so it
 * needs a certificate and key as well as the CA.
 */
export function loadClusterTls(files: ClusterTlsFiles, server: boolean, who: string): ClusterTls | undefined {
  const given = (["cert", "key", "ca"] as const).filter((k) => files[k] !== undefined);
  if (given.length === 0) return undefined;
  const missing = (server ? (["cert", "key", "ca"] as const) : (["ca"] as const)).filter(
    (k) => files[k] === undefined,
  );
  if (!server && (files.cert === undefined) !== (files.key === undefined))
    missing.push(files.cert === undefined ? "cert" : "key");
  if (missing.length > 0) {
    throw new ClusterTlsError(
      `${who} got ${given.map((k) => `--tls-${k}`).join(", ")} but not ${missing.map((k) => `--tls-${k}`).join(", ")}; ${
        server
          ? "a JobManager or TaskManager with TLS needs all three: its certificate, its key, and the cluster's CA"
          : "a client with TLS needs --tls-ca (the CA that signed the cluster's certificates), and --tls-cert with --tls-key only to present a certificate"
      }`,
    );
  }
  const read = (k: "cert" | "key" | "ca"): Buffer | undefined => {
    const path = files[k];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ClusterTlsError(
        `${who} cannot read --tls-${k} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; give the path of a PEM file this process can read`,
      );
    }
  };
  return { ca: read("ca")!, cert: read("cert"), key: read("key") };
}

/** What a listener takes: its certificate, and client certificates asked for (checked per role at the hello). */
export function serverTlsOptions(tls: ClusterTls): TlsOptions {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    requestCert: true,
    // A peer without a valid certificate still gets its hello answered, with a reason: the listener
    // refuses TaskManagers without one (FrameSocket.peerCertificateProblem), accepts clients.
    rejectUnauthorized: false,
    minVersion: "TLSv1.2",
  };
}

/**
 * What a dialling side takes. `checkHostname`: a client checks that the certificate names the
 * host it dialled; internal connections trust any certificate of the cluster's CA, as Flink's
 * internal SSL does (TaskManagers' addresses are seldom known when certificates are made).
 */
export function clientTlsOptions(tls: ClusterTls, host: string, checkHostname: boolean): ConnectionOptions {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(checkHostname ? {} : { checkServerIdentity: () => undefined }),
  };
}

/** The OpenSSL codes that mean "this certificate is not one the trusted CA signed". */
const UNTRUSTED = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** A TLS failure of the dialling side that retrying will not mend (a certificate not trusted). */
export function isUntrustedCertificate(e: NodeJS.ErrnoException): boolean {
  return e.code !== undefined && UNTRUSTED.has(e.code);
}
