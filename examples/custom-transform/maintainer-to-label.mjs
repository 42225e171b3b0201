// A custom transform: the deprecated MAINTAINER instruction becomes the OCI
// authors label. Same interface as the built-ins in transforms/.
import { defineTransform, Edit } from 'dockopt';

const AUTHORS_LABEL = 'org.opencontainers.image.authors';
// Characters a double-quoted LABEL value would read differently from MAINTAINER's plain text.
const NEEDS_QUOTING = /["$\\`\r\n]/;

export default defineTransform({
  meta: {
    id: 'maintainer-to-label',
    title: 'Replace MAINTAINER with the OCI authors label',
    description: 'MAINTAINER is deprecated; the org.opencontainers.image.authors label says the same and tools read it.',
    safety: 'unsafe',
    network: false,
    docs: {
      summary: 'Rewrites `MAINTAINER text` as `LABEL org.opencontainers.image.authors="text"`.',
      why: 'Docker deprecated MAINTAINER in favour of labels; registries, scanners and SBOM tools read the OCI authors label.',
      fixSafety: 'Unsafe: the image config no longer has an Author field, so anything reading Author (docker inspect) sees the label instead.',
      example: {
        before: 'FROM alpine:3.20\nMAINTAINER Jane Doe <jane@example.com>\n',
        after: 'FROM alpine:3.20\nLABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"\n',
      },
    },
  },
  run(ctx) {
    const findings = [];
    for (const instruction of ctx.doc.instructions) {
      if (instruction.keyword !== 'MAINTAINER' || ctx.isIgnored(instruction.start)) continue;
      const range = instruction.node.getArgumentsRange();
      if (!range) continue;
      const { start, end } = ctx.doc.span(range);
      const author = ctx.doc.text.slice(start, end);
      if (NEEDS_QUOTING.test(author)) {
        findings.push({ offset: instruction.start, message: 'MAINTAINER left alone: quotes, $, escapes or line breaks would change meaning inside a LABEL value' });
        continue;
      }
      findings.push({
        offset: instruction.start,
        message: `MAINTAINER is deprecated: use the ${AUTHORS_LABEL} label`,
        edits: [Edit.replace(instruction.start, instruction.end, `LABEL ${AUTHORS_LABEL}="${author}"`)],
      });
    }
    return findings;
  },
});
