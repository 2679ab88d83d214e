/* The other side of a virtqueue, written against the kernel's <linux/virtio_ring.h> only, working
 * on a memory image in a file (device address = offset in the image). Modes:
 *   split-device  IMG NUM ALIGN          process every available chain, publish used entries
 *   split-post    IMG NUM ALIGN SEED IND  act as the driver: offer NUM/4 chains
 *   split-check   IMG NUM ALIGN SEED IND  check what a device returned for those chains
 *   packed-device IMG NUM                 same, packed ring (desc at 0, areas after it)
 *   packed-post   IMG NUM SEED IND
 *   packed-check  IMG NUM SEED IND
 * Rule both device implementations follow: read the device-readable bytes R, write into the
 * writable part fnv1a32(R) (LE) then R reversed, as far as it fits; used len = bytes written.
 * Exit status 0 on success; a message on stderr otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ring.h>

#define IMG_SIZE (1u << 20)
#define IND_BASE 0x40000u
#define BUF_BASE 0x80000u
#define SEG_MAX 64

static uint8_t *img;

static void die(const char *m, long v) { fprintf(stderr, "vring-peer: %s (%ld)\n", m, v); exit(1); }

static void load(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("open", 0);
  /* vring_init aligns the absolute address of the used ring: the image must be aligned at
   * least as much as any `align` used, so that image offsets equal device addresses. */
  img = aligned_alloc(65536, IMG_SIZE);
  if (fread(img, 1, IMG_SIZE, f) != IMG_SIZE) die("short image", 0);
  fclose(f);
}

static void save(const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(img, 1, IMG_SIZE, f) != IMG_SIZE) die("write image", 0);
  fclose(f);
}

static uint8_t *at(uint64_t addr, uint32_t len) {
  if (addr > IMG_SIZE || len > IMG_SIZE - addr) die("address outside image", (long)addr);
  return img + addr;
}

static uint32_t fnv1a(const uint8_t *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
  return h;
}

/* One walked chain: segments in order. */
struct seg { uint64_t addr; uint32_t len; int write; };
struct chain { struct seg s[64]; int n; };

/* The device rule; returns the used length. */
static uint32_t serve(const struct chain *c) {
  static uint8_t r[64 * SEG_MAX], w[4 + 64 * SEG_MAX];
  uint32_t rn = 0, wcap = 0, wn, i;
  int k;
  for (k = 0; k < c->n; k++) {
    if (!c->s[k].write) { memcpy(r + rn, at(c->s[k].addr, c->s[k].len), c->s[k].len); rn += c->s[k].len; }
    else wcap += c->s[k].len;
  }
  uint32_t h = fnv1a(r, rn);
  w[0] = h & 0xff; w[1] = (h >> 8) & 0xff; w[2] = (h >> 16) & 0xff; w[3] = h >> 24;
  for (i = 0; i < rn; i++) w[4 + i] = r[rn - 1 - i];
  wn = 4 + rn < wcap ? 4 + rn : wcap;
  uint32_t off = 0;
  for (k = 0; k < c->n && off < wn; k++) {
    if (!c->s[k].write) continue;
    uint32_t put = c->s[k].len < wn - off ? c->s[k].len : wn - off;
    memcpy(at(c->s[k].addr, put), w + off, put);
    off += put;
  }
  return wn;
}

/* ---- deterministic chain shapes shared by post and check ---- */
static uint32_t seed;
static uint32_t rnd(void) { seed = seed * 1664525u + 1013904223u; return seed >> 8; }

struct shape { int nr, nw; uint32_t len[4]; int indirect; };

static void make_shapes(struct shape *sh, int count, int ind) {
  for (int i = 0; i < count; i++) {
    do { sh[i].nr = rnd() % 3; sh[i].nw = rnd() % 3; } while (sh[i].nr + sh[i].nw == 0);
    for (int k = 0; k < sh[i].nr + sh[i].nw; k++) sh[i].len[k] = 1 + rnd() % SEG_MAX;
    sh[i].indirect = ind && sh[i].nr + sh[i].nw > 1 && (i % 2 == 0);
  }
}

static uint64_t seg_addr(int i, int k) { return BUF_BASE + ((uint64_t)i * 4 + k) * SEG_MAX; }

/* Fill readable bytes of chain i and return the chain description. */
static void chain_of(const struct shape *sh, int i, struct chain *c) {
  c->n = sh->nr + sh->nw;
  for (int k = 0; k < c->n; k++) { c->s[k].addr = seg_addr(i, k); c->s[k].len = sh->len[k]; c->s[k].write = k >= sh->nr; }
}

static void fill_readable(const struct chain *c) {
  for (int k = 0; k < c->n; k++) {
    uint8_t *p = at(c->s[k].addr, c->s[k].len);
    for (uint32_t j = 0; j < c->s[k].len; j++) p[j] = c->s[k].write ? 0 : (uint8_t)rnd();
  }
}

/* Compute what the device must have written and compare with the image. */
static void check_chain(const struct chain *c, uint32_t used_len, int i) {
  static uint8_t saved[64 * SEG_MAX];
  /* The readable part is unchanged in the image: recompute the expected output from it. */
  uint32_t rn = 0, wcap = 0;
  for (int k = 0; k < c->n; k++) {
    if (!c->s[k].write) { memcpy(saved + rn, at(c->s[k].addr, c->s[k].len), c->s[k].len); rn += c->s[k].len; }
    else wcap += c->s[k].len;
  }
  uint32_t want = 4 + rn < wcap ? 4 + rn : wcap;
  if (used_len != want) die("used len differs for chain", i);
  uint8_t w[4 + 64 * SEG_MAX];
  uint32_t h = fnv1a(saved, rn);
  w[0] = h & 0xff; w[1] = (h >> 8) & 0xff; w[2] = (h >> 16) & 0xff; w[3] = h >> 24;
  for (uint32_t j = 0; j < rn; j++) w[4 + j] = saved[rn - 1 - j];
  uint32_t off = 0;
  for (int k = 0; k < c->n && off < want; k++) {
    if (!c->s[k].write) continue;
    uint32_t put = c->s[k].len < want - off ? c->s[k].len : want - off;
    if (memcmp(at(c->s[k].addr, put), w + off, put) != 0) die("written bytes differ for chain", i);
    off += put;
  }
}

/* The readable bytes must still be what post wrote (a device never writes them). */
static void verify_readable(const struct shape *sh, int count) {
  for (int i = 0; i < count; i++) {
    struct chain c;
    chain_of(&sh[i], i, &c);
    for (int k = 0; k < c.n; k++) {
      if (c.s[k].write) continue;
      const uint8_t *p = at(c.s[k].addr, c.s[k].len);
      for (uint32_t j = 0; j < c.s[k].len; j++) if (p[j] != (uint8_t)rnd()) die("readable bytes changed in chain", i);
    }
  }
}

/* ---- split ---- */
static void walk_split(struct vring *vr, uint16_t head, struct chain *c) {
  uint16_t i = head;
  c->n = 0;
  for (unsigned guard = 0;; guard++) {
    if (guard >= vr->num || i >= vr->num) die("bad chain", head);
    struct vring_desc *d = &vr->desc[i];
    if (d->flags & VRING_DESC_F_INDIRECT) {
      struct vring_desc *t = (struct vring_desc *)at(d->addr, d->len);
      unsigned n = d->len / sizeof(struct vring_desc), j = 0;
      for (unsigned g = 0;; g++) {
        if (g >= n || j >= n) die("bad indirect chain", head);
        c->s[c->n].addr = t[j].addr; c->s[c->n].len = t[j].len; c->s[c->n].write = !!(t[j].flags & VRING_DESC_F_WRITE); c->n++;
        if (!(t[j].flags & VRING_DESC_F_NEXT)) return;
        j = t[j].next;
      }
    }
    c->s[c->n].addr = d->addr; c->s[c->n].len = d->len; c->s[c->n].write = !!(d->flags & VRING_DESC_F_WRITE); c->n++;
    if (!(d->flags & VRING_DESC_F_NEXT)) return;
    i = d->next;
  }
}

static int split_device(unsigned num, unsigned long align) {
  struct vring vr;
  vring_init(&vr, num, img, align);
  /* This device is stateless between runs; it serves everything in order, so its last avail
   * index is the used index. */
  uint16_t last = vr.used->idx, n = 0;
  while (last != vr.avail->idx) {
    uint16_t head = vr.avail->ring[last % num];
    struct chain c;
    walk_split(&vr, head, &c);
    uint32_t len = serve(&c);
    struct vring_used_elem *e = &vr.used->ring[vr.used->idx % num];
    e->id = head;
    e->len = len;
    vr.used->idx++;
    last++;
    n++;
  }
  vring_avail_event(&vr) = last;
  printf("served %u\n", n);
  return 0;
}

static int split_post(unsigned num, unsigned long align, int ind) {
  struct vring vr;
  int count = num / 4;
  struct shape sh[8192];
  memset(img, 0, vring_size(num, align));
  vring_init(&vr, num, img, align);
  make_shapes(sh, count, ind);
  uint16_t d = 0;
  for (int i = 0; i < count; i++) {
    struct chain c;
    chain_of(&sh[i], i, &c);
    fill_readable(&c);
    uint16_t head = d;
    if (sh[i].indirect) {
      struct vring_desc *t = (struct vring_desc *)at(IND_BASE + (uint64_t)i * 4 * 16, c.n * 16);
      for (int k = 0; k < c.n; k++) {
        t[k].addr = c.s[k].addr; t[k].len = c.s[k].len;
        t[k].flags = (c.s[k].write ? VRING_DESC_F_WRITE : 0) | (k + 1 < c.n ? VRING_DESC_F_NEXT : 0);
        t[k].next = k + 1 < c.n ? k + 1 : 0;
      }
      vr.desc[d].addr = IND_BASE + (uint64_t)i * 4 * 16; vr.desc[d].len = c.n * 16; vr.desc[d].flags = VRING_DESC_F_INDIRECT; vr.desc[d].next = 0;
      d++;
    } else {
      for (int k = 0; k < c.n; k++, d++) {
        vr.desc[d].addr = c.s[k].addr; vr.desc[d].len = c.s[k].len;
        vr.desc[d].flags = (c.s[k].write ? VRING_DESC_F_WRITE : 0) | (k + 1 < c.n ? VRING_DESC_F_NEXT : 0);
        vr.desc[d].next = k + 1 < c.n ? d + 1 : 0;
      }
    }
    vr.avail->ring[i % num] = head;
  }
  vr.avail->idx = count;
  vring_used_event(&vr) = 0;
  printf("posted %d\n", count);
  return 0;
}

static int split_check(unsigned num, unsigned long align, int ind) {
  struct vring vr;
  int count = num / 4;
  struct shape sh[8192];
  static int seen[8192];
  vring_init(&vr, num, img, align);
  make_shapes(sh, count, ind);
  verify_readable(sh, count);
  if (vr.used->idx != count) die("used idx", vr.used->idx);
  /* Heads, in posting order, as split_post assigned them. */
  uint16_t heads[8192], d = 0;
  for (int i = 0; i < count; i++) { heads[i] = d; d += sh[i].indirect ? 1 : sh[i].nr + sh[i].nw; }
  for (int u = 0; u < count; u++) {
    struct vring_used_elem *e = &vr.used->ring[u % num];
    int i;
    for (i = 0; i < count && heads[i] != e->id; i++) {}
    if (i == count || seen[i]) die("used id not an outstanding head", e->id);
    seen[i] = 1;
    struct chain c;
    chain_of(&sh[i], i, &c);
    check_chain(&c, e->len, i);
  }
  printf("checked %d\n", count);
  return 0;
}

/* ---- packed ---- */
#define PAVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PUSED (1u << VRING_PACKED_DESC_F_USED)

/* Packed device state kept in the image between runs (a scratch page nobody else uses). */
#define STATE 0x3f000u
#define MAGIC 0x50414b44u

static int packed_device(unsigned num) {
  struct vring_packed_desc *ring = (struct vring_packed_desc *)img;
  uint32_t *st = (uint32_t *)(img + STATE);
  if (st[0] != MAGIC) { st[0] = MAGIC; st[1] = 0; st[2] = 1; st[3] = 0; st[4] = 1; }
  unsigned slot = st[1], wrap = st[2], used = st[3], uwrap = st[4], n = 0;
  for (;;) {
    uint16_t f = ring[slot].flags;
    int a = !!(f & PAVAIL), u = !!(f & PUSED);
    if (!(a != u && a == (int)wrap)) break;
    struct chain c;
    c.n = 0;
    unsigned slots = 0;
    uint16_t id;
    for (;;) {
      struct vring_packed_desc *d = &ring[slot];
      if (++slots > num) die("packed chain too long", slot);
      id = d->id;
      if (++slot == num) { slot = 0; wrap ^= 1; }
      if (d->flags & VRING_DESC_F_INDIRECT) {
        struct vring_packed_desc *t = (struct vring_packed_desc *)at(d->addr, d->len);
        for (unsigned j = 0; j < d->len / 16; j++) { c.s[c.n].addr = t[j].addr; c.s[c.n].len = t[j].len; c.s[c.n].write = !!(t[j].flags & VRING_DESC_F_WRITE); c.n++; }
        break;
      }
      c.s[c.n].addr = d->addr; c.s[c.n].len = d->len; c.s[c.n].write = !!(d->flags & VRING_DESC_F_WRITE); c.n++;
      if (!(d->flags & VRING_DESC_F_NEXT)) break;
    }
    uint32_t len = serve(&c);
    ring[used].id = id;
    ring[used].len = len;
    ring[used].flags = (uwrap ? (PAVAIL | PUSED) : 0) | (len ? VRING_DESC_F_WRITE : 0);
    used += slots;
    if (used >= num) { used -= num; uwrap ^= 1; }
    n++;
  }
  st[1] = slot; st[2] = wrap; st[3] = used; st[4] = uwrap;
  printf("served %u\n", n);
  return 0;
}

static int packed_post(unsigned num, int ind) {
  struct vring_packed_desc *ring = (struct vring_packed_desc *)img;
  int count = num / 4;
  struct shape sh[8192];
  memset(img, 0, num * 16 + 8);
  make_shapes(sh, count, ind);
  unsigned slot = 0;
  for (int i = 0; i < count; i++) {
    struct chain c;
    chain_of(&sh[i], i, &c);
    fill_readable(&c);
    if (sh[i].indirect) {
      struct vring_packed_desc *t = (struct vring_packed_desc *)at(IND_BASE + (uint64_t)i * 4 * 16, c.n * 16);
      for (int k = 0; k < c.n; k++) { t[k].addr = c.s[k].addr; t[k].len = c.s[k].len; t[k].id = 0; t[k].flags = c.s[k].write ? VRING_DESC_F_WRITE : 0; }
      ring[slot].addr = IND_BASE + (uint64_t)i * 4 * 16; ring[slot].len = c.n * 16; ring[slot].id = i; ring[slot].flags = VRING_DESC_F_INDIRECT | PAVAIL;
      slot++;
    } else {
      for (int k = 0; k < c.n; k++, slot++) {
        ring[slot].addr = c.s[k].addr; ring[slot].len = c.s[k].len; ring[slot].id = i;
        ring[slot].flags = (c.s[k].write ? VRING_DESC_F_WRITE : 0) | (k + 1 < c.n ? VRING_DESC_F_NEXT : 0) | PAVAIL;
      }
    }
  }
  printf("posted %d\n", count);
  return 0;
}

static int packed_check(unsigned num, int ind) {
  struct vring_packed_desc *ring = (struct vring_packed_desc *)img;
  int count = num / 4;
  struct shape sh[8192];
  static int seen[8192];
  make_shapes(sh, count, ind);
  verify_readable(sh, count);
  unsigned slot = 0;
  for (int u = 0; u < count; u++) {
    struct vring_packed_desc *d = &ring[slot];
    if ((d->flags & (PAVAIL | PUSED)) != (PAVAIL | PUSED)) die("slot not used", slot);
    int i = d->id;
    if (i >= count || seen[i]) die("used id not outstanding", i);
    seen[i] = 1;
    struct chain c;
    chain_of(&sh[i], i, &c);
    check_chain(&c, d->len, i);
    slot += sh[i].indirect ? 1 : sh[i].nr + sh[i].nw;
  }
  printf("checked %d\n", count);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) die("usage", argc);
  const char *mode = argv[1];
  load(argv[2]);
  unsigned num = (unsigned)strtoul(argv[3], 0, 0);
  if (num == 0 || num / 4 > 8192) die("num", num);
  int rc;
  if (!strcmp(mode, "split-device")) rc = split_device(num, strtoul(argv[4], 0, 0));
  else if (!strcmp(mode, "split-post")) { seed = strtoul(argv[5], 0, 0); rc = split_post(num, strtoul(argv[4], 0, 0), atoi(argv[6])); }
  else if (!strcmp(mode, "split-check")) { seed = strtoul(argv[5], 0, 0); rc = split_check(num, strtoul(argv[4], 0, 0), atoi(argv[6])); }
  else if (!strcmp(mode, "packed-device")) rc = packed_device(num);
  else if (!strcmp(mode, "packed-post")) { seed = strtoul(argv[4], 0, 0); rc = packed_post(num, atoi(argv[5])); }
  else if (!strcmp(mode, "packed-check")) { seed = strtoul(argv[4], 0, 0); rc = packed_check(num, atoi(argv[5])); }
  else die("mode", 0);
  save(argv[2]);
  return rc;
}
