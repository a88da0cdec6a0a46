// Builds the web app into the Python package (src/aimeeting/server/static/app/), where
// `aimeeting serve` serves it at / — so the server's machine needs no Node.js and no CDN.
// The SDK is not bundled: the app imports the one the server serves (/sdk/aimeeting-sdk.js),
// so page and SDK are always the same version and the browser loads the SDK once.
// The output is deterministic: CI rebuilds it and fails when the committed copy differs.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = "../src/aimeeting/server/static/app";
mkdirSync(out, { recursive: true });

const servedSdk = {
  name: "served-sdk",
  setup(build) {
    build.onResolve({ filter: /^@aimeeting\/sdk$/ }, () => ({ path: "/sdk/aimeeting-sdk.js", external: true }));
  },
};

await build({
  entryPoints: ["src/main.ts", "src/app.css"],
  outdir: out,
  entryNames: "[name]",
  bundle: true,
  format: "esm",
  target: ["es2022", "chrome100", "firefox100", "safari16"],
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [servedSdk],
});
copyFileSync("src/index.html", `${out}/index.html`);
