// The worker-thread CPU as a file, for `WorkerProcessorOptions.workerEntry` (a bundled copy of
// it, say, or a wrapper that does more before the CPU runs). The processor does not need it: by
// default it starts the same boot ROM from its source text (./boot-rom.ts). Importing the ROM
// here, rather than keeping a second copy, keeps the two CPUs one.
import { cpuBootRomUrl } from "./boot-rom.js";

await import(cpuBootRomUrl().href);
