// The web dashboard's files (built from dashboard/ into dist/dashboard by `npm run build`), served
// by the REST server at `/`: index.html and its hashed assets, with their content types. Only files
// inside the dashboard's folder are ever read.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

export interface StaticFile {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

/**
 * Where the built dashboard is: beside the compiled server in the installed package
 * (dist/web → dist/dashboard), or in dist/ of a checkout whose sources run through tsx
 * (src/web → dist/dashboard). Undefined when it was not built.
 */
export function findDashboardDir(): string | undefined {
  for (const rel of ["../dashboard/", "../../dist/dashboard/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return undefined;
}

/** Paths the dashboard owns; every other path stays the REST API's. */
export function isDashboardPath(pathname: string): boolean {
  return pathname === "/" || pathname === "/index.html" || pathname.startsWith("/assets/");
}

/** The file for a dashboard path (`/` is index.html), or a 404 that says what to do. */
export async function readDashboardFile(dir: string | undefined, pathname: string): Promise<StaticFile> {
  if (dir === undefined) {
    return text(
      404,
      "The Weir dashboard is not built: run `npm run build` in the checkout (the package ships it).",
    );
  }
  let rel: string;
  try {
    rel = pathname === "/" ? "index.html" : decodeURIComponent(pathname.slice(1));
  } catch {
    return text(400, `Bad path: ${pathname}`);
  }
  const file = normalize(join(dir, rel));
  if (!file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return text(404, `Not found: ${pathname}`);
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    return text(404, `Not found: ${pathname}`);
  }
  const type = CONTENT_TYPES[extname(file)] ?? "application/octet-stream";
  // Assets carry a content hash in their names; index.html names the current ones.
  const cache = rel.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache";
  return {
    status: 200,
    headers: { "content-type": type, "cache-control": cache, "x-content-type-options": "nosniff" },
    body,
  };
}

/**
 * Answer a GET or HEAD of a dashboard path from `dir` (see findDashboardDir); false when the request
 * is the API's. Call it before the token check: the dashboard's files hold no job data, and a
 * browser loads them without the token (the page then sends it with every API request).
 */
export async function serveDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  dir: string | undefined,
): Promise<boolean> {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
  if (!isDashboardPath(pathname)) return false;
  const file = await readDashboardFile(dir, pathname);
  res.writeHead(file.status, file.headers);
  res.end(req.method === "HEAD" ? undefined : file.body);
  return true;
}

function text(status: number, message: string): StaticFile {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body: `${message}\n` };
}
