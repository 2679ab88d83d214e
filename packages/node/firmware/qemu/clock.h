/*
 * The "amp-clock" rpmsg service of the QEMU firmware: the remote's half of the clock exchange
 * (docs/wire-formats.md, "Clock exchange"). The host sends a 16-byte request (type 1, version 1,
 * u16 seq, u32 reserved, u64 t1); the firmware answers with 32 bytes (type 2, version 1, the same
 * seq, u32 0, t1 copied, u64 t2 = its clock when the request was taken, u64 t3 = its clock just
 * before the reply is queued). Little-endian; times in µs of the firmware's own clock.
 * The clock is passed in, so this file knows nothing about timers.
 */
#ifndef AMP_CLOCK_H
#define AMP_CLOCK_H

#include <stdint.h>

#define AMP_CLOCK_NAME "amp-clock"
#define AMP_CLOCK_ADDR 1026u
#define AMP_CLOCK_REQUEST_SIZE 16u
#define AMP_CLOCK_RESPONSE_SIZE 32u

/*
 * Builds the reply to the request `req` (`n` bytes) into `out` (AMP_CLOCK_RESPONSE_SIZE bytes).
 * `t2` is the clock reading taken when the request was picked up; `now` is called once, last,
 * for t3. Returns the reply length, or 0 when the request is not a version-1 request of 16 bytes
 * (then nothing is sent: the host counts the exchange as lost).
 */
uint32_t amp_clock_reply(const volatile uint8_t *req, uint32_t n, uint64_t t2, uint64_t (*now)(void), uint8_t *out);

#endif
