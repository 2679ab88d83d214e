// VirtqueueDeviceRunner with a server that answers later, out of order: each reply must land in
// its own chain (the runner reuses one chain per queue and copies it only for such replies), and
// a reply outside process() interrupts by itself.
import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import type { DeviceServer, ReplyFn } from "@amp/virtual-io";
import { inThreadLink } from "../helpers/vq-link.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("deferred replies over split virtqueues", () => {
  it(
    "three requests of one group, answered in reverse order after process() returned",
    { timeout: 20_000 },
    async () => {
      const held: { out: Uint8Array; reply: ReplyFn }[] = [];
      const server: DeviceServer = {
        deviceId: 0x7fff,
        numQueues: 1,
        features: 0n,
        config: new Uint8Array(0),
        handle: (_q, out, _inLength, reply) => {
          held.push({ out, reply });
        },
      };
      const ch = inThreadLink(server);
      const answers = [1, 2, 3].map((k) => ch.request(0, Uint8Array.of(k, k, k), 4));
      for (let i = 0; i < 5 && held.length < 3; i++) await tick();
      expect(held.map((h) => toHex(h.out))).toEqual(["010101", "020202", "030303"]);
      for (const h of [...held].reverse()) h.reply(Uint8Array.of(0xa0 | (h.out[0] ?? 0), 0xee));
      const got = await Promise.all(answers);
      expect(got.map(toHex)).toEqual(["a1ee", "a2ee", "a3ee"]);
    },
  );
});
