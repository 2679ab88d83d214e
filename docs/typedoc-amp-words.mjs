// TypeDoc plugin for @amp. (1) "@amp" and "@amp-only" in doc comments are the project's name,
// not TSDoc block tags: typedoc.config.mjs declares them as tags so that they parse without a
// warning, and this puts each one back into the text it interrupted. (2) Modules are named after
// the package (entry `packages/rpmsg/src/index.ts` -> `@amp/rpmsg`), not after the folder.
import { Converter, ReflectionKind } from "typedoc";

const WORDS = new Set(["@amp", "@amp-only"]);

function mergeBack(comment) {
  if (comment === undefined) return;
  const kept = [];
  for (const tag of comment.blockTags) {
    if (!WORDS.has(tag.tag)) {
      kept.push(tag);
      continue;
    }
    const into = kept.length > 0 ? kept[kept.length - 1].content : comment.summary;
    const first = tag.content[0];
    // A tag's text loses the space after the word; put the word and that space back.
    into.push(
      { kind: "text", text: ` ${tag.tag}${first?.kind === "text" && /^\S/.test(first.text) ? " " : ""}` },
      ...tag.content,
    );
  }
  comment.blockTags = kept;
}

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const m of context.project.getChildrenByKind(ReflectionKind.Module)) {
      const match = /^([a-z-]+)\/src(?:\/(.+))?$/.exec(m.name);
      if (match) m.name = `@amp/${match[1]}${match[2] ? `/${match[2]}` : ""}`;
    }
    for (const r of Object.values(context.project.reflections)) {
      mergeBack(r.comment);
      if ("signatures" in r) for (const s of r.signatures ?? []) mergeBack(s.comment);
    }
  });
}
