// What it takes to import a user's job module in this thread: a TypeScript job file is loaded
// through tsx when Weir itself runs as compiled JavaScript (the installed package; the library
// never needs a loader), and the user's own .ts files are ES modules whatever the "type" of their
// package.json says (`npm init -y` writes "commonjs", under which a .ts job would become
// CommonJS and fail to import Weir). .cts files stay CommonJS; files under node_modules are left
// to their packages.

import { register } from "node:module";

/**
 * A module-loading hook (run in Node's hooks thread, hence plain JavaScript in a data: URL): the
 * user's .ts/.tsx/.mts files load as ES modules.
 */
const ESM_TYPESCRIPT_HOOKS = `
export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && !url.includes("/node_modules/") && /\\.(ts|tsx|mts)$/.test(new URL(url).pathname)) {
    const loaded = await nextLoad(url, { ...context, format: "module" });
    return { ...loaded, format: "module" };
  }
  return nextLoad(url, context);
}
`;

let registered = false;

/** A job file that needs the TypeScript loader (a .ts, .tsx, .mts or .cts module). */
export function isTypeScriptModule(path: string): boolean {
  return /\.[cm]?tsx?$/.test(path);
}

/**
 * Make this thread able to import the job module at `path` (once per thread; a no-op for
 * JavaScript jobs). Running from the TypeScript sources (a development checkout or Weir's own
 * tests) means a loader is already registered; only the hook that makes .ts files ESM is added.
 */
export async function prepareJobImport(path: string): Promise<void> {
  if (registered || !isTypeScriptModule(path)) return;
  registered = true;
  if (!import.meta.url.endsWith(".ts")) {
    const tsx = await import("tsx/esm/api");
    tsx.register();
  }
  register(`data:text/javascript,${encodeURIComponent(ESM_TYPESCRIPT_HOOKS)}`);
}
