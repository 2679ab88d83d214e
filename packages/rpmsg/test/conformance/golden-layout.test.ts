// Golden bytes: after a scripted exchange, the shared memory must hold exactly what Linux's
// virtio_rpmsg_bus would have written as the host (rx buffers posted device-writable with
// len 512, tx descriptors of 16 + payload, tx-complete interrupts off) and what the remote returns:
// on vring 0 the bytes it wrote; on vring 1 the descriptor length of each consumed host-tx buffer,
// which is what OpenAMP's and rpmsg-lite's remotes write and their hosts read back as the buffer's
// capacity (the spec would say 0; Linux ignores it; measured against OpenAMP 1.10 and rpmsg-lite
// 5.4 by the interop tests in @amp/node). vring 0's used.flags is VRING_USED_F_NO_NOTIFY: with no
// send waiting for a buffer the remote asks the host not to kick for re-posted rx buffers (a hint
// Linux, OpenAMP and rpmsg-lite hosts honour). The rings are read back by a C program built on the
// kernel's own <linux/virtio_ring.h> (vring_init and the struct layouts), not by our code.
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileC, makeTempDir, requireTools, run, toHex } from "@amp/test-utils";
import { RPMSG_ADDR_ANY } from "@amp/rpmsg";
import { makePair, RINGS_ADDR } from "../helpers/pair.ts";

const NUM = 4;
const ALIGN = 4096;
const te = (s: string): Uint8Array => new TextEncoder().encode(s);

function scriptedExchange(): ReturnType<typeof makePair> {
  const p = makePair({ num: NUM, align: ALIGN });
  p.host.start();
  p.remote.createEndpoint({
    name: "rpmsg-tty",
    onMessage: (m, ep) => {
      ep.trySendTo(m.src, te("ok!"));
    },
  });
  p.remote.process(); // link up, NS CREATE in host rx buffer 0
  const hep = p.host.createEndpoint({ name: "rpmsg-tty" });
  p.host.process(); // binds to 1024, re-posts buffer 0
  hep.trySend(te("hi")); // host tx buffer 0
  p.remote.process(); // receives, replies in host rx buffer 1
  p.host.process(); // receives the reply, re-posts buffer 1
  expect(hep.dst).toBe(1024);
  expect(hep.dst).not.toBe(RPMSG_ADDR_ANY);
  return p;
}

const hex32 = (n: number): string => toHex(Uint8Array.of(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24));
const hex16 = (n: number): string => toHex(Uint8Array.of(n & 255, n >>> 8));

describe("golden shared-memory layout after a scripted exchange", () => {
  it("buffers hold the 16-byte header and the 40-byte NS message, byte for byte", () => {
    const p = scriptedExchange();
    const rx0 = p.mem.read(p.poolAddr, 56);
    expect(toHex(rx0)).toBe(
      hex32(1024) +
        hex32(53) +
        hex32(0) +
        hex16(40) +
        hex16(0) + // src, dst = 53, reserved, len, flags
        toHex(te("rpmsg-tty")) +
        "00".repeat(23) +
        hex32(1024) +
        hex32(0), // name[32], addr, flags = CREATE
    );
    const rx1 = p.mem.read(p.poolAddr + 512, 19);
    expect(toHex(rx1)).toBe(hex32(1024) + hex32(1024) + hex32(0) + hex16(3) + hex16(0) + toHex(te("ok!")));
    const tx0 = p.mem.read(p.poolAddr + NUM * 512, 18); // tx half starts after num rx buffers
    expect(toHex(tx0)).toBe(hex32(1024) + hex32(1024) + hex32(0) + hex16(2) + hex16(0) + toHex(te("hi")));
    expect(p.hostTransport.getStatus()).toBe(0x07);
  });

  const missing = requireTools("gcc");
  describe.skipIf(missing !== undefined)("read back with <linux/virtio_ring.h>", () => {
    it("descriptors, avail and used rings are what Linux writes", () => {
      const p = scriptedExchange();
      const dir = makeTempDir("amp-rpmsg-golden-");
      const image = join(dir, "shm.bin");
      writeFileSync(image, new Uint8Array(p.sab));
      const stride = 8192; // align_up(vring_size(4, 4096), 4096)
      const prog = compileC(`
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
struct rpmsg_hdr { uint32_t src, dst, reserved; uint16_t len, flags; } __attribute__((packed));
static void dump(const char *name, unsigned char *base, unsigned long off, unsigned char *pool) {
  struct vring vr;
  vring_init(&vr, ${NUM}, base + off, ${ALIGN});
  printf("%s avail.flags=%u avail.idx=%u ring=", name, vr.avail->flags, vr.avail->idx);
  for (unsigned i = 0; i < vr.avail->idx && i < 8; i++) printf("%u,", vr.avail->ring[i % ${NUM}]);
  printf("\\n");
  for (unsigned i = 0; i < ${NUM}; i++) {
    struct vring_desc *d = &vr.desc[i];
    if (d->addr == 0 && d->len == 0) continue;
    printf("%s desc%u addr=0x%llx len=%u flags=%u next=%u\\n", name, i, (unsigned long long)d->addr, d->len, d->flags, d->next);
  }
  printf("%s used.flags=%u used.idx=%u\\n", name, vr.used->flags, vr.used->idx);
  for (unsigned i = 0; i < vr.used->idx && i < ${NUM}; i++) {
    struct vring_used_elem *u = &vr.used->ring[i];
    struct rpmsg_hdr *h = (struct rpmsg_hdr *)(base + vr.desc[u->id].addr);
    printf("%s used%u id=%u len=%u hdr.src=%u hdr.dst=%u hdr.len=%u\\n", name, i, u->id, u->len, h->src, h->dst, h->len);
  }
  (void)pool;
}
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 2;
  static unsigned char mem[1 << 20] __attribute__((aligned(4096))); // vring_init aligns absolute addresses
  size_t n = fread(mem, 1, sizeof mem, f);
  fclose(f);
  if (n == 0) return 3;
  printf("vring_size=%u\\n", vring_size(${NUM}, ${ALIGN}));
  dump("vring0", mem, ${RINGS_ADDR}, mem);
  dump("vring1", mem, ${RINGS_ADDR + stride}, mem);
  return 0;
}
`);
      const out = run(prog, [image]).trim().split("\n");
      const pool = p.poolAddr;
      const tx = pool + NUM * 512;
      expect(out).toEqual([
        "vring_size=4134",
        // host rx: every buffer posted device-writable (flags 2) with len 512, before DRIVER_OK;
        // the two the remote used were re-posted (avail.idx 6)
        "vring0 avail.flags=0 avail.idx=6 ring=0,1,2,3,0,1,",
        ...[0, 1, 2, 3].map((i) => `vring0 desc${i} addr=0x${(pool + i * 512).toString(16)} len=512 flags=2 next=0`),
        "vring0 used.flags=1 used.idx=2",
        // the remote reports the bytes it wrote: 16 + 40 for the NS message, 16 + 3 for "ok!"
        "vring0 used0 id=0 len=56 hdr.src=1024 hdr.dst=53 hdr.len=40",
        "vring0 used1 id=1 len=19 hdr.src=1024 hdr.dst=1024 hdr.len=3",
        // host tx: tx-complete interrupts off (avail.flags = NO_INTERRUPT), one readable
        // descriptor of 16 + payload, returned with used len = that descriptor length
        "vring1 avail.flags=1 avail.idx=1 ring=0,",
        `vring1 desc0 addr=0x${tx.toString(16)} len=18 flags=0 next=0`,
        "vring1 used.flags=0 used.idx=1",
        "vring1 used0 id=0 len=18 hdr.src=1024 hdr.dst=1024 hdr.len=2",
      ]);
    });
  });
});
