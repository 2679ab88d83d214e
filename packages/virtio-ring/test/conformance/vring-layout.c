/* Prints, from the kernel's own <linux/virtio_ring.h>, the split-ring layout for many (num, align)
 * pairs, vring_need_event for many triples, and the packed structures' layout, one JSON value per
 * line. The TypeScript test compares @amp/virtio-ring against every line. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/virtio_ring.h>

static uint32_t rng = 12345u;
static uint16_t next16(void) { rng = rng * 1103515245u + 12345u; return (uint16_t)(rng >> 8); }

int main(void) {
  /* Only pointer arithmetic, never a dereference: vring_init computes addresses from a base
   * aligned to every `align` tried. */
  unsigned char *base = (unsigned char *)(uintptr_t)0x10000000u;
  for (unsigned num = 1; num <= 32768; num <<= 1) {
    for (unsigned long align = 1; align <= 65536; align <<= 1) {
      struct vring vr;
      vring_init(&vr, num, base, align);
      printf("{\"kind\":\"layout\",\"num\":%u,\"align\":%lu,\"size\":%u,\"desc\":%ld,\"avail\":%ld,\"usedEvent\":%ld,\"used\":%ld,\"availEvent\":%ld}\n",
             num, align, vring_size(num, align),
             (long)((unsigned char *)vr.desc - base), (long)((unsigned char *)vr.avail - base),
             (long)((unsigned char *)&vring_used_event(&vr) - base), (long)((unsigned char *)vr.used - base),
             (long)((unsigned char *)&vring_avail_event(&vr) - base));
    }
  }
  /* Edge values plus pseudo-random triples. */
  static const uint16_t edge[] = {0, 1, 2, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff};
  for (unsigned a = 0; a < 8; a++)
    for (unsigned b = 0; b < 8; b++)
      for (unsigned c = 0; c < 8; c++)
        printf("{\"kind\":\"event\",\"e\":%u,\"n\":%u,\"o\":%u,\"r\":%d}\n", edge[a], edge[b], edge[c], vring_need_event(edge[a], edge[b], edge[c]));
  for (unsigned i = 0; i < 20000; i++) {
    uint16_t o = next16(), d = next16() % 64, e = (uint16_t)(o + (next16() % 128) - 32);
    if (i & 1) e = next16();
    uint16_t n = (uint16_t)(o + d);
    printf("{\"kind\":\"event\",\"e\":%u,\"n\":%u,\"o\":%u,\"r\":%d}\n", e, n, o, vring_need_event(e, n, o));
  }
  printf("{\"kind\":\"struct\",\"descSize\":%zu,\"descAddr\":%zu,\"descLen\":%zu,\"descFlags\":%zu,\"descNext\":%zu,\"usedElemSize\":%zu,"
         "\"packedSize\":%zu,\"packedAddr\":%zu,\"packedLen\":%zu,\"packedId\":%zu,\"packedFlags\":%zu,\"eventSize\":%zu,\"eventOffWrap\":%zu,\"eventFlags\":%zu,"
         "\"F_NEXT\":%d,\"F_WRITE\":%d,\"F_INDIRECT\":%d,\"P_AVAIL\":%d,\"P_USED\":%d,\"AVAIL_NO_INTERRUPT\":%d,\"USED_NO_NOTIFY\":%d,"
         "\"EV_ENABLE\":%d,\"EV_DISABLE\":%d,\"EV_DESC\":%d,\"EV_WRAP\":%d,\"INDIRECT_DESC\":%d,\"EVENT_IDX\":%d}\n",
         sizeof(struct vring_desc), offsetof(struct vring_desc, addr), offsetof(struct vring_desc, len), offsetof(struct vring_desc, flags),
         offsetof(struct vring_desc, next), sizeof(struct vring_used_elem), sizeof(struct vring_packed_desc), offsetof(struct vring_packed_desc, addr),
         offsetof(struct vring_packed_desc, len), offsetof(struct vring_packed_desc, id), offsetof(struct vring_packed_desc, flags),
         sizeof(struct vring_packed_desc_event), offsetof(struct vring_packed_desc_event, off_wrap), offsetof(struct vring_packed_desc_event, flags),
         VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT, VRING_PACKED_DESC_F_AVAIL, VRING_PACKED_DESC_F_USED,
         VRING_AVAIL_F_NO_INTERRUPT, VRING_USED_F_NO_NOTIFY, VRING_PACKED_EVENT_FLAG_ENABLE, VRING_PACKED_EVENT_FLAG_DISABLE,
         VRING_PACKED_EVENT_FLAG_DESC, VRING_PACKED_EVENT_F_WRAP_CTR, VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX);
  return 0;
}
