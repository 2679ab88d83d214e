/*
 * The contract between the @amp QEMU host (packages/node/src/qemu) and the firmware in this
 * folder: memory map of the file-backed PSRAM of mps2-an386, the control block, the crash record
 * and the doorbell bytes. The TypeScript side mirrors every number here in src/qemu/abi.ts; a
 * test compiles this header and checks that the two agree.
 *
 * mps2-an386 (Cortex-M4): 16 MiB PSRAM at 0x21000000 is the only RAM QEMU can back with a file
 * (`-machine memory-backend=`). Device address (da) = file offset + AMPQ_RAM_BASE.
 */
#ifndef AMP_QEMU_H
#define AMP_QEMU_H

#define AMPQ_RAM_BASE 0x21000000u
#define AMPQ_RAM_SIZE 0x01000000u

/* Fixed device addresses used by the firmware's resource table. */
#define AMPQ_VRING0_DA 0x21100000u /* host rx, remote tx */
#define AMPQ_VRING1_DA 0x21104000u /* host tx, remote rx */
#define AMPQ_VRING_NUM 64u
#define AMPQ_VRING_ALIGN 4096u
#define AMPQ_BUFFER_DA 0x21200000u /* the host's rpmsg buffer pool ("vdev0buffer" region): 2 * num * 512 */
#define AMPQ_BUFFER_LEN 0x00010000u
#define AMPQ_CTRL_DA 0x21fff000u /* carveout "amp-ctrl": the control block below */
#define AMPQ_CTRL_LEN 0x00001000u

/* Control block (u32 words at AMPQ_CTRL_DA + offset). W: who writes it. */
#define AMPQ_CTRL_MAGIC 0x00u   /* W fw: AMPQ_MAGIC once booted */
#define AMPQ_CTRL_VERSION 0x04u /* W fw: AMPQ_VERSION */
#define AMPQ_CTRL_BOOTS 0x08u   /* W fw: incremented at each boot (reset) */
#define AMPQ_CTRL_STATE 0x0cu   /* W fw: AMPQ_STATE_* */
#define AMPQ_CTRL_MODE 0x10u    /* W host: AMPQ_MODE_* (doorbell mode, read by fw in its idle loop) */
#define AMPQ_CTRL_NOTIFY 0x14u  /* W fw: incremented on every remote->host notification */
#define AMPQ_CTRL_IRQS 0x18u    /* W fw: doorbell interrupts taken */
#define AMPQ_CTRL_WAKEUPS 0x1cu /* W fw: idle-loop iterations (busy polling) or WFI wake-ups */
#define AMPQ_CTRL_RX 0x20u      /* W fw: rpmsg messages received */
#define AMPQ_CTRL_TX 0x24u      /* W fw: rpmsg messages sent */
#define AMPQ_CTRL_PING 0x28u    /* W host: any value; the fw copies it to PONG (raw round trip, no rpmsg) */
#define AMPQ_CTRL_PONG 0x2cu    /* W fw: the last PING value seen */
#define AMPQ_CTRL_CRASH 0x40u   /* crash record, see below */

#define AMPQ_MAGIC 0x51504d41u /* "AMPQ" little-endian */
#define AMPQ_VERSION 1u

#define AMPQ_STATE_RESET 0u
#define AMPQ_STATE_WAIT_DRIVER_OK 1u
#define AMPQ_STATE_RUNNING 2u
#define AMPQ_STATE_CRASHED 3u

#define AMPQ_MODE_POLL 0u /* fw busy-polls the rings; notifies by counter only */
#define AMPQ_MODE_IRQ 1u  /* fw sleeps in WFI; doorbell = a byte on UART1 (both ways) */

/* Crash record (u32 words at AMPQ_CTRL_DA + AMPQ_CTRL_CRASH + offset), written by the HardFault
 * handler; `magic` is written last so that the host never sees a half-written record. */
#define AMPQ_CRASH_MAGIC_OFF 0x00u
#define AMPQ_CRASH_REASON_OFF 0x04u
#define AMPQ_CRASH_R0_OFF 0x08u /* then r1 r2 r3 r12 lr pc xpsr: the stacked frame, 8 words */
#define AMPQ_CRASH_CFSR_OFF 0x28u
#define AMPQ_CRASH_HFSR_OFF 0x2cu
#define AMPQ_CRASH_MMFAR_OFF 0x30u
#define AMPQ_CRASH_BFAR_OFF 0x34u
#define AMPQ_CRASH_EXC_RETURN_OFF 0x38u
#define AMPQ_CRASH_SP_OFF 0x3cu /* address of the stacked frame */
#define AMPQ_CRASH_SIZE 0x40u
#define AMPQ_CRASH_MAGIC 0xdeadc0deu
#define AMPQ_CRASH_REASON_HARDFAULT 1u
#define AMPQ_CRASH_REASON_WATCHDOG 2u /* the CMSDK watchdog (3 s, kicked by the main loop) raised NMI */

/* Doorbell bytes on UART1. Host -> fw: any byte (the vring notifyid by convention).
 * Fw -> host: the notifyid (< 0x7f) of the vring with new used entries, AMPQ_DB_PONG or AMPQ_DB_CRASH. */
#define AMPQ_DB_CRASH 0xeeu
#define AMPQ_DB_PONG 0x7fu /* fw -> host: PONG was updated (irq mode) */

/* rpmsg services of the firmware. */
#define AMPQ_ECHO_ADDR 1024u
#define AMPQ_CTRL_EPT_ADDR 1025u
#define AMPQ_ECHO_NAME "rpmsg-echo"
#define AMPQ_CTRL_NAME "amp-ctrl"

#endif
