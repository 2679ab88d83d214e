// The address map of the worker-thread processor. One SharedArrayBuffer is the whole physical
// memory and device address = byte offset (no translation). The low part ("sram") is where
// firmware is linked and loaded; the high part ("ddr") is the pool the host allocates vrings,
// rpmsg buffers and carveouts from, as a Linux host allocates DMA memory for a real remote.
//
//   0x00000000 .. 0x00000fff   unused guard page (a stray null pointer never hits code)
//   0x00001000 .. sramSize     firmware: program image (boot address 0x1000), resource table,
//                              trace buffer
//   sramSize .. sramSize+ddrSize   host-allocated memory (pool)

/** Default size of the firmware area: 4 MiB. */
export const DEFAULT_SRAM_SIZE: number = 4 * 1024 * 1024;
/** Default size of the host-allocated pool: 4 MiB. */
export const DEFAULT_DDR_SIZE: number = 4 * 1024 * 1024;
/** Where JS firmware is linked: the program image, and so the boot address. */
export const JS_FIRMWARE_LOAD_ADDRESS = 0x1000;
