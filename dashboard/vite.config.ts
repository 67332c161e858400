// Builds the web dashboard (Preact, dagre, uPlot) into dist/dashboard, which the package ships and
// the REST server serves at `/`. Relative asset URLs, so that it works behind any path prefix.
// Development: `WEIR_REST_URL=http://127.0.0.1:8081 npx vite dashboard` with a job running.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** `npx vite dashboard`'s dev server sends API requests to a running `weir run --rest-port`. */
const rest = process.env.WEIR_REST_URL ?? "http://127.0.0.1:8081";

export default defineConfig({
  root: here("."),
  base: "./",
  logLevel: "warn",
  server: { proxy: { "/jobs": rest, "/overview": rest, "/metrics": rest } },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: here("../dist/dashboard"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 1000,
  },
});
