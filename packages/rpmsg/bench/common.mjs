// Shared setup of the benchmark: an rpmsg-only link (fixed layout, same data path as a virtio
// link) in one SharedArrayBuffer, plus a control SharedArrayBuffer with the two doorbells and a
// few words for counters and the raw hand-off ceilings.
import { staticLinkLayout } from "@amp/rpmsg";

export const NUM = 256;
export const layout = staticLinkLayout({ base: 0, numBuffers: NUM, align: 16, bufferSize: 512 });
export const KICK_AT = 0;
export const IRQ_AT = 64;
export const WORDS_AT = 128; // Int32 words: 0 stop, 1 sink count, 2 sink bytes, 3 ping, 4 pong, 5 ring head, 6 ring tail
export const CTRL_BYTES = 128 + 64 + 256 * 512;
export const RAW_RING_AT = 192;
