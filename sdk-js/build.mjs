// Builds the one ES module that `aimeeting serve` serves at /sdk/aimeeting-sdk.js (with its
// source map), into the Python package, and a copy plus type declarations into dist/ for npm.
// The output is deterministic: CI rebuilds it and fails when the committed copy differs.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";

const served = "../src/aimeeting/server/static/sdk/aimeeting-sdk.js";

await build({
  entryPoints: ["src/index.ts"],
  outfile: served,
  bundle: true,
  format: "esm",
  target: ["es2022", "chrome100", "firefox100", "safari16"],
  minify: true,
  sourcemap: true,
  sourcesContent: true,
  legalComments: "none",
  logLevel: "warning",
});

if (!process.argv.includes("--served-only")) {
  mkdirSync("dist", { recursive: true });
  copyFileSync(served, "dist/aimeeting-sdk.js");
  copyFileSync(`${served}.map`, "dist/aimeeting-sdk.js.map");
  execFileSync("npx", ["tsc", "--emitDeclarationOnly", "--outDir", "dist/types"], { stdio: "inherit" });
}
