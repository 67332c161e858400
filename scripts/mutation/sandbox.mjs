// Sandboxes: copies of the working tree (tracked and untracked, not ignored files) in the temp
// directory, with node_modules linked. Mutants are only ever written there, so the developer's
// tree is never mutated, even when the run is interrupted; the copies are removed on exit.
import { execFileSync } from "node:child_process";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const created = [];

/** The files a sandbox needs: what git sees in the tree, minus ignored files. */
export function treeFiles(root) {
  const out = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], {
    cwd: root,
    maxBuffer: 1 << 28,
  });
  return out
    .toString()
    .split("\0")
    .filter((f) => f.length > 0 && f !== "node_modules" && isFile(join(root, f)));
}

function isFile(p) {
  try {
    return lstatSync(p).isFile();
  } catch {
    return false; // deleted but still tracked
  }
}

/** Creates one sandbox copy of `root` and returns its path. */
export function createSandbox(root, files) {
  const dir = mkdtempSync(join(tmpdir(), "weir-mutation-"));
  created.push(dir);
  for (const f of files) {
    const to = join(dir, f);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(root, f), to);
  }
  symlinkSync(realpathSync(join(root, "node_modules")), join(dir, "node_modules"), "dir");
  return dir;
}

/** A temporary directory of the run (coverage output): removed with the sandboxes. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export function removeSandboxes() {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}
