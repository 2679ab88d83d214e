import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fcParams, toHex } from "@amp/test-utils";
import {
  buildResourceTable,
  parseResourceTable,
  resourceTableFromJson,
  resourceTableToJson,
  serializeResourceTable,
} from "@amp/resource-table";
import { tableArb } from "../arbitraries.ts";

describe("round trips", () => {
  it("parse(serialize(t)) equals build(t), and serialize(parse(bytes)) equals bytes", () => {
    fc.assert(
      fc.property(tableArb, (init) => {
        const bytes = serializeResourceTable(init);
        const parsed = parseResourceTable(bytes);
        expect(parsed).toEqual(buildResourceTable(init));
        expect(toHex(serializeResourceTable(parsed))).toBe(toHex(bytes));
      }),
      fcParams(300),
    );
  });

  it("with aligned offsets and padding the bytes still round-trip", () => {
    fc.assert(
      fc.property(tableArb, fc.constantFrom(1, 2, 4, 8, 16), fc.nat(64), (init, align, extra) => {
        const natural = buildResourceTable(init, { align }).size;
        const bytes = serializeResourceTable({ ...init, size: natural + extra }, { align });
        expect(toHex(serializeResourceTable(parseResourceTable(bytes)))).toBe(toHex(bytes));
      }),
      fcParams(200),
    );
  });

  it("the JSON form round-trips through JSON.stringify", () => {
    fc.assert(
      fc.property(tableArb, (init) => {
        const bytes = serializeResourceTable(init);
        const text = JSON.stringify(resourceTableToJson(parseResourceTable(bytes)));
        expect(toHex(serializeResourceTable(resourceTableFromJson(JSON.parse(text))))).toBe(toHex(bytes));
      }),
      fcParams(200),
    );
  });
});
