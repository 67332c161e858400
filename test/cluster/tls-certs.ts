// Certificates for the TLS tests, made with the openssl command (/usr/bin/openssl, or $WEIR_OPENSSL):
// a CA and a leaf it signed (for both server and client use, naming loopback and the given
// addresses), and a rogue CA with a leaf of its own, which the cluster must not trust.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  dir: string;
  /** The cluster's CA, and a certificate and key it signed. */
  ca: string;
  cert: string;
  key: string;
  /** Another CA, and a certificate and key that one signed. */
  rogueCa: string;
  rogueCert: string;
  rogueKey: string;
  remove(): void;
}

const OPENSSL = process.env.WEIR_OPENSSL ?? "openssl";

/** A new P-256 key, not encrypted. */
const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function openssl(dir: string, args: string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

function makeLeaf(dir: string, ca: string, name: string, ips: readonly string[]): void {
  const ext = `${name}.ext`;
  writeFileSync(
    join(dir, ext),
    [
      `subjectAltName=${["DNS:localhost", ...["127.0.0.1", ...ips].map((ip) => `IP:${ip}`)].join(",")}`,
      "extendedKeyUsage=serverAuth,clientAuth",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "",
    ].join("\n"),
  );
  openssl(dir, [
    "req",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    ext,
  ]);
}

/** A CA and leaf (naming 127.0.0.1, localhost and `ips`), and a rogue pair, in a temporary directory. */
export function makeTestCertificates(ips: readonly string[] = []): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "weir-tls-"));
  try {
    makeCa(dir, "cluster-ca");
    makeLeaf(dir, "cluster-ca", "node", ips);
    makeCa(dir, "rogue-ca");
    makeLeaf(dir, "rogue-ca", "rogue", ips);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`openssl could not make the test certificates: ${(e as Error).message}\n${stderr}`);
  }
  const f = (n: string) => join(dir, n);
  return {
    dir,
    ca: f("cluster-ca.pem"),
    cert: f("node.pem"),
    key: f("node.key"),
    rogueCa: f("rogue-ca.pem"),
    rogueCert: f("rogue.pem"),
    rogueKey: f("rogue.key"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The flags that give a process these TLS files. */
export function tlsFlags(cert: string, key: string, ca: string): string[] {
  return ["--tls-cert", cert, "--tls-key", key, "--tls-ca", ca];
}
