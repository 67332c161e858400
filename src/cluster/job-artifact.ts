// The job artifact: the job module bundled with esbuild into one ES module, so that it can travel
// to hosts that do not have the job's files. Weir itself stays outside the bundle (the artifact
// must share the runtime's classes and registries): imports of "weir-stream" and of Weir's own
// source files become "weir-stream:<entry>" / "weir-src:<path>" specifiers, which
// runnableArtifact() points at the Weir installed on the host that runs it.

import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, extname, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { InvalidJobError } from "../core/errors.ts";

/** The package root of this Weir (holding src/ in a checkout, dist/ when installed). */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCES = import.meta.url.endsWith(".ts");

export interface JobArtifact {
  name: string;
  bytes: Uint8Array;
}

/** Bundle the job module at `path` (and what it imports, except Weir) into one ES module. */
export async function bundleJob(path: string): Promise<JobArtifact> {
  const esbuild = await import("esbuild");
  const abs = resolve(path);
  const inWeir = (file: string) => {
    const rel = relative(ROOT, file);
    return !rel.startsWith("..") && (rel.startsWith(`src${sep}`) || rel.startsWith(`dist${sep}`));
  };
  let result: Awaited<ReturnType<typeof esbuild.build>>;
  try {
    result = await esbuild.build({
      entryPoints: [abs],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      write: false,
      logLevel: "silent",
      sourcemap: "inline",
      plugins: [
        {
          name: "weir-external",
          setup(build) {
            build.onResolve({ filter: /^weir-stream(\/.*)?$/ }, (args) => ({
              path: `weir-stream:${args.path.slice("weir-stream".length).replace(/^\//, "")}`,
              external: true,
            }));
            build.onResolve({ filter: /^\.\.?\// }, (args) => {
              const file = resolve(args.resolveDir, args.path);
              if (!inWeir(file)) return undefined;
              const rel = relative(ROOT, file)
                .split(sep)
                .join("/")
                .replace(/\.[cm]?[jt]s$/, "");
              return { path: `weir-src:${rel.replace(/^(src|dist)\//, "")}`, external: true };
            });
            // import.meta.url in the job's own files keeps naming the file it was written in, so
            // that data files found relative to the module (new URL("./data.txt", import.meta.url))
            // are looked for where they are on the submitting host (a path the hosts share).
            build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
              if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
              const url = pathToFileURL(args.path).href;
              const contents = readFileSync(args.path, "utf8")
                .replace(/\bimport\.meta\.url\b/g, JSON.stringify(url))
                .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path))
                .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)));
              const ext = extname(args.path).replace(/^\.[cm]?/, "");
              return { contents, loader: ext === "tsx" || ext === "jsx" ? ext : ext === "ts" ? "ts" : "js" };
            });
          },
        },
      ],
    });
  } catch (e) {
    throw new InvalidJobError(`cannot bundle job module '${abs}': ${(e as Error).message.split("\n")[0]}`);
  }
  const out = result.outputFiles?.[0];
  if (out === undefined) throw new InvalidJobError(`bundling '${abs}' produced nothing`);
  return { name: basename(abs), bytes: out.contents };
}

/** The artifact's text with Weir's specifiers pointing at this host's Weir. */
export function runnableArtifact(text: string): string {
  return text.replace(/(["'])weir-(stream|src):([^"']*)\1/g, (_m, q: string, kind: string, rest: string) => {
    const module = kind === "stream" ? entryModule(rest) : rest;
    return `${q}${pathToFileURL(weirFile(module)).href}${q}`;
  });
}

/** The module of a package entry: "" → index, "connectors/redis" → connectors/redis/index. */
function entryModule(subpath: string): string {
  return subpath === "" ? "index" : `${subpath}/index`;
}

function weirFile(module: string): string {
  const ts = resolve(ROOT, "src", `${module}.ts`);
  if (SOURCES && existsSync(ts)) return ts;
  const js = resolve(ROOT, "dist", `${module}.js`);
  return existsSync(js) ? js : ts;
}
