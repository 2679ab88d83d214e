// Constants checked against the kernel's exported header <linux/rpmsg.h> (linux-libc-dev), not
// against our own reading of it: RPMSG_ADDR_ANY and the 32-byte name field.
import { describe, expect, it } from "vitest";
import { compileC, requireTools, run } from "@amp/test-utils";
import { RPMSG_ADDR_ANY, RPMSG_NAME_SIZE } from "@amp/rpmsg";

const missing = requireTools("gcc");
describe.skipIf(missing !== undefined)("<linux/rpmsg.h>", () => {
  it("RPMSG_ADDR_ANY and the name size agree", () => {
    const prog = compileC(`
#include <linux/rpmsg.h>
#include <stdio.h>
int main(void) {
  struct rpmsg_endpoint_info info;
  printf("%u %zu\\n", (unsigned)RPMSG_ADDR_ANY, sizeof info.name);
  return 0;
}
`);
    expect(run(prog, []).trim()).toBe(`${RPMSG_ADDR_ANY} ${RPMSG_NAME_SIZE}`);
  });
});
