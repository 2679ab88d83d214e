// The remote role in a small embedded engine: RpmsgRemote bundled (esbuild, IIFE, platform
// neutral: no Node built-ins) and run inside QuickJS (quickjs-emscripten), against an RpmsgHost
// in Node, exchanging real rpmsg messages (the memory-image exchange between turns is described
// in ../helpers/quickjs-remote.ts).
import { fileURLToPath } from "node:url";
import { describeRemoteInQuickJs } from "../helpers/quickjs-remote.ts";

describeRemoteInQuickJs({
  title: "remote in QuickJS, host in Node",
  entry: fileURLToPath(new URL("./remote-entry.ts", import.meta.url)),
});
