/*
 * The "machine" layer that libmetal's generic (bare-metal) system expects, for an ARMv7-M core
 * (Cortex-M3/M4/M7) without a data cache in the way, written by @amp against libmetal's
 * headers (lib/system/generic/{sys,cache,io}.h). The pinned libmetal ships no Cortex-M machine,
 * so libmetal.a built with MACHINE=cortexm leaves exactly these symbols undefined; a firmware
 * links this file (or libamp_metal_cm4.a from the build prefix) next to libmetal.a.
 *
 * Everything here runs on one core with no MMU: interrupt masking is PRIMASK, the cache hooks are
 * ordering barriers (the Cortex-M4 has no data cache; QEMU's RAM file is coherent with the host,
 * qemu-remote.md §2) and I/O regions are used at the address they were given.
 */
#define METAL_INTERNAL /* the sys_irq_* prototypes are internal to libmetal */
#include <stdint.h>
#include <metal/cache.h>
#include <metal/io.h>
#include <metal/sys.h>

/* Masks all configurable-priority interrupts and returns the previous PRIMASK (1 = was masked),
 * so nested save/restore pairs work. */
unsigned int sys_irq_save_disable(void)
{
	unsigned int primask;

	__asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask) : : "memory");
	return primask;
}

/* Unmasks interrupts again only if they were unmasked when the matching save happened. */
void sys_irq_restore_enable(unsigned int flags)
{
	if ((flags & 1u) == 0)
		__asm__ volatile("cpsie i" : : : "memory");
}

/* NVIC lines (libmetal calls them vectors): external interrupt n is bit n%32 of ISERn/ICERn. */
#define NVIC_ISER0 0xe000e100u
#define NVIC_ICER0 0xe000e180u

void sys_irq_enable(unsigned int vector)
{
	*(volatile uint32_t *)(uintptr_t)(NVIC_ISER0 + 4u * (vector / 32u)) = 1u << (vector % 32u);
}

void sys_irq_disable(unsigned int vector)
{
	*(volatile uint32_t *)(uintptr_t)(NVIC_ICER0 + 4u * (vector / 32u)) = 1u << (vector % 32u);
	__asm__ volatile("dsb\n isb" : : : "memory");
}

/* No data cache: what is left of a flush or an invalidate is that earlier accesses complete
 * before later ones (a DMB orders the CPU's accesses to the shared RAM). */
void metal_machine_cache_flush(void *addr, unsigned int len)
{
	(void)addr;
	(void)len;
	__asm__ volatile("dmb" : : : "memory");
}

void metal_machine_cache_invalidate(void *addr, unsigned int len)
{
	(void)addr;
	(void)len;
	__asm__ volatile("dmb" : : : "memory");
}

/* Called by metal_condition_wait() while it waits. Nothing to poll on a bare core; returning at
 * once keeps the wait a plain spin (a WFI here could sleep through a flag set by the other core,
 * which raises no interrupt of its own). */
void metal_generic_default_poll(void)
{
}

/* No MMU: a region is accessed at the address the application gave. */
void *metal_machine_io_mem_map(void *va, metal_phys_addr_t pa, size_t size, unsigned int flags)
{
	(void)pa;
	(void)size;
	(void)flags;
	return va;
}
