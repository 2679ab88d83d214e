// The vrings the core allocates and the queue addresses its vdev transport reports agree with the
// kernel's <linux/virtio_ring.h> vring_init()/vring_size(), compiled with gcc; the status bits the
// transport stores are <linux/virtio_config.h>'s.
import { describe, expect, it } from "vitest";
import { compileC, requireTools, run } from "@amp/test-utils";
import { serializeResourceTable } from "@amp/resource-table";
import { firmware, makePlatform } from "../helpers/fixture.ts";

const C = `
#include <stdio.h>
#include <stdint.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_config.h>
int main(void) {
  unsigned cases[][2] = { {16, 16}, {256, 4096}, {64, 64} };
  for (int i = 0; i < 3; i++) {
    struct vring vr;
    vring_init(&vr, cases[i][0], (void *)0, cases[i][1]);
    printf("%u %u %lu %lu %lu\\n", cases[i][0], cases[i][1], (unsigned long)vring_size(cases[i][0], cases[i][1]),
           (unsigned long)(uintptr_t)vr.avail, (unsigned long)(uintptr_t)vr.used);
  }
  printf("status %d\\n", VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
  return 0;
}
`;

describe.skipIf(requireTools("gcc"))("vring layout against <linux/virtio_ring.h>", () => {
  it("allocations cover vring_size and queue addresses match vring_init", async () => {
    const out = run(compileC(C, { name: "vring-layout" }), [])
      .trim()
      .split("\n");
    const rows = out.slice(0, 3).map((l) => l.split(" ").map(Number));
    for (const [num, align, size, avail, used] of rows) {
      const table = serializeResourceTable({
        entries: [{ kind: "vdev", id: 7, vrings: [{ num: num!, align: align! }] }],
      });
      const p = makePlatform({ fw: firmware({ table }) });
      await p.rproc.boot();
      const v = p.rproc.vdevs[0]!;
      const q = v.transport.getQueue(0);
      expect(q.driverAddr - q.descAddr, `avail ${num}/${align}`).toBe(avail);
      expect(q.deviceAddr - q.descAddr, `used ${num}/${align}`).toBe(used);
      expect(v.vrings[0]!.window.size).toBeGreaterThanOrEqual(size!);
      expect(v.vrings[0]!.window.size % 4096).toBe(0);
      await p.rproc.shutdown();
    }
    const status = Number(out[3]!.split(" ")[1]);
    const p = makePlatform();
    p.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: (vd) => {
        vd.transport.setStatus(status);
        return undefined;
      },
    });
    await p.rproc.boot();
    expect(p.rproc.vdevs[0]!.transport.getStatus()).toBe(7);
  });
});
