// Endpoint address allocation: dynamic addresses from 1024 upward, lowest free first (Linux
// uses an idr starting at RPMSG_RESERVED_ADDRESSES); explicit addresses claim exactly that value.
import { RPMSG_ADDR_ANY, RPMSG_RESERVED_ADDRESSES } from "../constants.js";

export class AddressAllocator {
  private readonly used = new Set<number>();
  private next = RPMSG_RESERVED_ADDRESSES; // lowest address that may be free

  get size(): number {
    return this.used.size;
  }

  has(addr: number): boolean {
    return this.used.has(addr);
  }

  /** Lowest free dynamic address, or undefined when the 32-bit space (minus ANY) is exhausted. */
  allocate(): number | undefined {
    let a = this.next;
    while (this.used.has(a)) a++;
    if (a >= RPMSG_ADDR_ANY) return undefined;
    this.used.add(a);
    this.next = a + 1;
    return a;
  }

  /** Claims `addr`; false if it is taken. */
  claim(addr: number): boolean {
    if (this.used.has(addr)) return false;
    this.used.add(addr);
    return true;
  }

  release(addr: number): void {
    if (this.used.delete(addr) && addr >= RPMSG_RESERVED_ADDRESSES && addr < this.next) this.next = addr;
  }

  clear(): void {
    this.used.clear();
    this.next = RPMSG_RESERVED_ADDRESSES;
  }
}
