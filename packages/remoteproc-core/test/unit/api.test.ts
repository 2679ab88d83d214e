import { describe, expect, it } from "vitest";

describe("public API", () => {
  it("exports exactly these names", async () => {
    expect(Object.keys(await import("@amp/remoteproc-core")).sort()).toMatchInlineSnapshot(`
      [
        "AmpError",
        "CrashType",
        "FW_RSC_ADDR_ANY",
        "NT_AMP_TRACE",
        "Remoteproc",
        "RprocState",
        "RprocVdev",
        "SignatureAlgorithm",
        "SignedImageType",
        "StepError",
        "TRACE_LEVELS",
        "TRACE_MAX_TEXT",
        "TRACE_NOTE_MAX_BYTES",
        "TRACE_NOTE_NAME",
        "TraceBuffer",
        "TraceFollower",
        "createElfLoader",
        "createMemoryFirmwareSource",
        "createRemoteproc",
        "createSignedImageLoader",
        "decodeTraceNote",
        "decodeUtf8",
        "formatHostTime",
        "formatRemoteTime",
        "formatTraceEntry",
        "formatTraceRecord",
        "isAmpError",
        "isStepError",
        "isTraceNote",
        "parseTraceBuffer",
        "parseTraceLine",
        "signImage",
        "traceNoteFor",
        "traceRecordLine",
        "verifySignedImage",
      ]
    `);
  });
});
