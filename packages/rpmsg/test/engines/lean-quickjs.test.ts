// The lean remote (@amp/rpmsg/remote) in a small embedded engine: bundled (esbuild, IIFE,
// platform neutral) and run inside QuickJS against an RpmsgHost in Node, the same scenario as
// quickjs.test.ts runs for RpmsgRemote (../helpers/quickjs-remote.ts), and after the host's
// reset the lean remote comes back and serves again.
import { fileURLToPath } from "node:url";
import { describeRemoteInQuickJs } from "../helpers/quickjs-remote.ts";

describeRemoteInQuickJs({
  title: "lean remote in QuickJS, host in Node",
  entry: fileURLToPath(new URL("./lean-remote-entry.ts", import.meta.url)),
  servesAgainAfterReset: true,
});
