import { expect, it } from "vitest";
import * as api from "@amp/errors";

it("the public API is exactly this list", () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "AmpError",
      "alignUp",
      "concatBytes",
      "hex",
      "isAmpError",
    ]
  `);
});
