/*
 * The remote's half of the clock exchange (see clock.h and docs/wire-formats.md, "Clock
 * exchange"). Freestanding: no libc, byte stores only (the request sits in a shared rpmsg buffer
 * whose alignment the host chose).
 */
#include "clock.h"

#define CLOCK_TYPE_REQUEST 1u
#define CLOCK_TYPE_RESPONSE 2u
#define CLOCK_VERSION 1u
#define OFF_TYPE 0u
#define OFF_VERSION 1u
#define OFF_SEQ 2u
#define OFF_RESERVED 4u
#define OFF_T1 8u
#define OFF_T2 16u
#define OFF_T3 24u

static void put_le64(uint8_t *p, uint64_t v) {
  for (unsigned int i = 0; i < 8u; i++) p[i] = (uint8_t)(v >> (8u * i));
}

uint32_t amp_clock_reply(const volatile uint8_t *req, uint32_t n, uint64_t t2, uint64_t (*now)(void), uint8_t *out) {
  if (n != AMP_CLOCK_REQUEST_SIZE || req[OFF_TYPE] != CLOCK_TYPE_REQUEST || req[OFF_VERSION] != CLOCK_VERSION) return 0;
  out[OFF_TYPE] = CLOCK_TYPE_RESPONSE;
  out[OFF_VERSION] = CLOCK_VERSION;
  out[OFF_SEQ] = req[OFF_SEQ];
  out[OFF_SEQ + 1u] = req[OFF_SEQ + 1u];
  for (unsigned int i = 0; i < 4u; i++) out[OFF_RESERVED + i] = 0;
  /* t1 is the host's: copied back untouched. */
  for (unsigned int i = 0; i < 8u; i++) out[OFF_T1 + i] = req[OFF_T1 + i];
  put_le64(out + OFF_T2, t2);
  /* Last: everything after this reading is the reply's flight, which the host's t4 bounds. */
  put_le64(out + OFF_T3, now());
  return AMP_CLOCK_RESPONSE_SIZE;
}
