// Test firmware for test/e2e/echo-forged.test.ts: an echo whose rpmsg callbacks run under the
// "crash" policy, so an exception in one (a reply to a src of RPMSG_ADDR_ANY) is a fatal error.
import { defineFirmware } from "@amp/node/firmware";

export default defineFirmware(async (fw) => {
  const rpmsg = fw.rpmsg({ onCallbackError: "crash" });
  rpmsg.createEndpoint({
    name: "strict-echo",
    onMessage: (m, ep) => {
      ep.trySendTo(m.src, m.data);
    },
  });
  await fw.run(rpmsg);
});
