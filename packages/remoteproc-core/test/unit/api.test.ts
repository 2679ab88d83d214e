import { describe, expect, it } from "vitest";

describe("public API", () => {
  it("exports exactly these names", async () => {
    expect(Object.keys(await import("@amp/remoteproc-core")).sort()).toMatchInlineSnapshot(`
      [
        "AmpError",
        "CrashType",
        "FW_RSC_ADDR_ANY",
        "Remoteproc",
        "RprocState",
        "RprocVdev",
        "SignatureAlgorithm",
        "SignedImageType",
        "StepError",
        "TraceBuffer",
        "createElfLoader",
        "createMemoryFirmwareSource",
        "createRemoteproc",
        "createSignedImageLoader",
        "decodeUtf8",
        "isAmpError",
        "isStepError",
        "signImage",
        "verifySignedImage",
      ]
    `);
  });
});
