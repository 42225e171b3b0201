import { DockerfileError, fixDockerfile, MAX_PASSES } from '../src/engine/fixpoint.js';
import { DockerfileDocument } from '../src/dockerfile/document.js';
import { shellScript, sourceSpan } from '../src/shell/script.js';
import { defineTransform, Edit, type Finding, type Safety, type TransformContext } from '../src/engine/transform.js';

const docs = { summary: 's', why: 'w', fixSafety: 'f', example: { before: '', after: '' } };

function testTransform(id: string, run: (ctx: TransformContext) => Finding[], safety: Safety = 'safe') {
  return defineTransform({ meta: { id, title: id, description: id, safety, network: false, docs }, run });
}

/** Upper-cases lower-case instruction keywords: small edits that exercise offset mapping. */
const upperKeywords = testTransform('upper-keywords', (ctx) =>
  ctx.doc.instructions.flatMap((instruction) => {
    const range = instruction.node.getInstructionRange();
    const span = ctx.doc.span(range);
    const keyword = ctx.doc.text.slice(span.start, span.end);
    if (keyword === keyword.toUpperCase() || ctx.isIgnored(instruction.start)) return [];
    return [{ offset: span.start, message: `upper-case ${keyword}`, edits: [Edit.replace(span.start, span.end, keyword.toUpperCase())] }];
  }),
);

const run = (text: string, transforms = [upperKeywords], unsafeAllowed: 'all' | Set<string> = new Set()) =>
  fixDockerfile(text, { transforms, unsafeAllowed });

describe('offsets and byte preservation', () => {
  test.each([
    ['LF', 'FROM a\nrun echo hi\n', 'FROM a\nRUN echo hi\n'],
    ['CRLF', 'FROM a\r\nrun echo hi\r\n\r\ncmd x\r\n', 'FROM a\r\nRUN echo hi\r\n\r\nCMD x\r\n'],
    ['BOM', '\uFEFFfrom a\nrun x\n', '\uFEFFFROM a\nRUN x\n'],
    ['no trailing newline', 'FROM a\nrun x', 'FROM a\nRUN x'],
    ['astral characters before the edit', 'FROM a\nLABEL x="𝄞é"\nrun x\n', 'FROM a\nLABEL x="𝄞é"\nRUN x\n'],
    ['escape directive and continuation', '# escape=`\nFROM a\nrun echo `\n  hi # not a comment\n', '# escape=`\nFROM a\nRUN echo `\n  hi # not a comment\n'],
    ['tabs and comments', '# top\n\tfrom a\n# mid\nrun a \\\n# inside\n\t&& b\n', '# top\n\tFROM a\n# mid\nRUN a \\\n# inside\n\t&& b\n'],
  ])('%s', async (_name, input, expected) => {
    const result = await run(input);
    expect(result.output).toBe(expected);
  });

  test('reports changes at lines of the original file', async () => {
    const result = await run('FROM a\nRUN x\n\nrun y\n');
    expect(result.changes).toEqual([{ transform: 'upper-keywords', line: 4, message: 'upper-case run', safety: 'safe' }]);
  });
});

describe('shell script mapping', () => {
  test('maps continuation lines and embedded comments back to source offsets', () => {
    const text = 'FROM a\nRUN apt-get update \\\n# comment\n    && apt-get install curl\n';
    const doc = new DockerfileDocument(text);
    const script = shellScript(doc, doc.instructions[1])!;
    expect(script.script).toBe('apt-get update     && apt-get install curl');
    const at = script.script.indexOf('curl');
    const span = sourceSpan(script, at, at + 4);
    expect(text.slice(span.start, span.end)).toBe('curl');
  });

  test('exec form and heredocs have no shell script', () => {
    const doc = new DockerfileDocument('FROM a\nRUN ["a", "b"]\nRUN <<EOF\necho\nEOF\nRUN [ -f x ] && y\n');
    expect(shellScript(doc, doc.instructions[1])).toBeUndefined();
    expect(shellScript(doc, doc.instructions[2])).toBeUndefined();
    expect(shellScript(doc, doc.instructions[3])?.script).toBe('[ -f x ] && y');
  });
});

describe('fixpoint loop', () => {
  test('colliding edits wait for the next pass', async () => {
    const append = (word: string) =>
      testTransform(`append-${word}`, (ctx) => {
        const runInstruction = ctx.doc.instructions[1];
        if (ctx.doc.text.slice(runInstruction.start, runInstruction.end).includes(`echo ${word}`)) return [];
        return [{ offset: runInstruction.start, message: `append ${word}`, edits: [Edit.insert(runInstruction.end, ` && echo ${word}`)] }];
      });
    const result = await fixDockerfile('FROM x\nRUN true\n', { transforms: [append('a'), append('b')] });
    expect(result.output).toBe('FROM x\nRUN true && echo a && echo b\n');
    expect(result.changes.map((change) => [change.transform, change.line])).toEqual([
      ['append-a', 2],
      ['append-b', 2],
    ]);
  });

  test('runsAfter makes a transform wait until the other has nothing left to do', async () => {
    const seen: string[] = [];
    const first = testTransform('first', (ctx) => replaceWord(ctx, 'aaa', 'bbb'));
    const second = defineTransform({
      meta: { ...testTransform('second', () => []).meta, runsAfter: ['first'] },
      run: (ctx) => {
        seen.push(ctx.doc.text);
        return replaceWord(ctx, 'bbb', 'ccc');
      },
    });
    const result = await fixDockerfile('FROM x\nRUN echo aaa\n', { transforms: [first, second] });
    expect(result.output).toBe('FROM x\nRUN echo ccc\n');
    expect(seen[0]).toBe('FROM x\nRUN echo bbb\n');
  });

  test('a cycle is an error naming the transforms', async () => {
    const toB = testTransform('a-to-b', (ctx) => replaceWord(ctx, 'aaa', 'bbb'));
    const toA = testTransform('b-to-a', (ctx) => replaceWord(ctx, 'bbb', 'aaa'));
    await expect(fixDockerfile('FROM x\nRUN echo aaa\n', { transforms: [toB, toA] })).rejects.toThrow(/a-to-b.*b-to-a|b-to-a.*a-to-b/);
    expect(MAX_PASSES).toBe(10);
  });

  test('a fix that would break the Dockerfile is rejected, reported, and the rest still lands', async () => {
    const breaker = testTransform('breaker', (ctx) => [{ offset: 0, message: 'break it', edits: [Edit.insert(ctx.doc.text.length, 'BOGUS instruction\n')] }]);
    const result = await fixDockerfile('FROM a\nrun x\n', { transforms: [breaker, upperKeywords] });
    expect(result.output).toBe('FROM a\nRUN x\n');
    expect(result.notes).toEqual([expect.objectContaining({ transform: 'breaker', severity: 'error', message: expect.stringMatching(/rejected.*Unknown instruction: BOGUS/) })]);
  });

  test('a fix that breaks the shell syntax of a RUN is rejected', async () => {
    const unbalanced = testTransform('unbalanced', (ctx) => {
      const runInstruction = ctx.doc.instructions[1];
      return ctx.doc.text.includes('(') ? [] : [{ offset: runInstruction.start, message: 'open a subshell', edits: [Edit.insert(runInstruction.end, ' && (')] }];
    });
    const result = await fixDockerfile('FROM a\nRUN x\n', { transforms: [unbalanced] });
    expect(result.output).toBe('FROM a\nRUN x\n');
    expect(result.notes[0].message).toMatch(/would not parse as shell/);
  });

  test('a transform that throws is reported and the others still run', async () => {
    const thrower = testTransform('thrower', () => {
      throw new Error('boom');
    });
    const result = await fixDockerfile('FROM a\nrun x\n', { transforms: [thrower, upperKeywords] });
    expect(result.output).toBe('FROM a\nRUN x\n');
    expect(result.notes).toEqual([expect.objectContaining({ transform: 'thrower', severity: 'error', message: expect.stringContaining('boom') })]);
  });

  test('unsafe fixes need consent', async () => {
    const risky = testTransform('risky', (ctx) => upperKeywords.run(ctx) as Finding[], 'unsafe');
    const refused = await fixDockerfile('FROM a\nrun x\n', { transforms: [risky] });
    expect(refused.output).toBe('FROM a\nrun x\n');
    expect(refused.notes[0].message).toMatch(/unsafe fix not applied/);
    const allowed = await fixDockerfile('FROM a\nrun x\n', { transforms: [risky], unsafeAllowed: new Set(['risky']) });
    expect(allowed.output).toBe('FROM a\nRUN x\n');
  });
});

describe('input that cannot be processed', () => {
  test('a parse error names the line', async () => {
    await expect(run('FROM a\nRUN x\nFROOM b\n')).rejects.toMatchObject({ name: 'DockerfileError', line: 3 });
    await expect(run('FROM a\nRUN x\nFROOM b\n')).rejects.toBeInstanceOf(DockerfileError);
  });
});

describe('inline opt-out', () => {
  test('# dockopt-ignore covers the next instruction for every transform', async () => {
    const result = await run('FROM a\n# dockopt-ignore\nrun x\nrun y\n');
    expect(result.output).toBe('FROM a\n# dockopt-ignore\nrun x\nRUN y\n');
  });

  test('# dockopt-ignore with ids covers only those transforms', async () => {
    expect((await run('FROM a\n# dockopt-ignore merge-runs, pkg-cleanup\nrun x\n')).output).toBe('FROM a\n# dockopt-ignore merge-runs, pkg-cleanup\nRUN x\n');
    expect((await run('FROM a\n# dockopt-ignore merge-runs,upper-keywords\nrun x\n')).output).toBe('FROM a\n# dockopt-ignore merge-runs,upper-keywords\nrun x\n');
  });

  test('# dockopt-ignore-file at the top disables the file', async () => {
    const input = '# dockopt-ignore-file\nFROM a\nrun x\n';
    expect((await run(input)).output).toBe(input);
    const later = 'FROM a\n# dockopt-ignore-file\nrun x\n';
    expect((await run(later)).output).toBe('FROM a\n# dockopt-ignore-file\nRUN x\n');
  });
});

function replaceWord(ctx: TransformContext, from: string, to: string): Finding[] {
  const instruction = ctx.doc.instructions[1];
  const script = shellScript(ctx.doc, instruction);
  if (!script) return [];
  const at = script.script.indexOf(from);
  if (at < 0) return [];
  const span = sourceSpan(script, at, at + from.length);
  return [{ offset: instruction.start, message: `${from} to ${to}`, edits: [Edit.replace(span.start, span.end, to)] }];
}

describe('the net change', () => {
  const textEdit = (id: string, find: string, replace: string, message: string, unless?: string) =>
    testTransform(id, (ctx) => {
      const at = ctx.doc.text.indexOf(find);
      if (at < 0 || (unless !== undefined && ctx.doc.text.includes(unless))) return [];
      return [{ offset: at, message, edits: [Edit.replace(at, at + find.length, replace)] }];
    });

  test('a fix that a later pass rewrote away is not reported; the one that made the final text is', async () => {
    // Pass 1 joins the RUNs; pass 2 splits them again around a COPY: the join is not in the result.
    const join = textEdit('join', 'echo a\nRUN echo b', 'echo a && echo b', 'joined');
    const split = textEdit('split', 'echo a && echo b', 'echo a\nCOPY x /x\nRUN echo b', 'split around a COPY', 'COPY x');
    const result = await run('FROM a\nRUN echo a\nRUN echo b\n', [join, split]);
    expect(result.output).toBe('FROM a\nRUN echo a\nCOPY x /x\nRUN echo b\n');
    expect(result.changes).toEqual([{ transform: 'split', line: 2, message: 'split around a COPY', safety: 'safe' }]);
  });

  test('two fixes that cancel out are not reported at all', async () => {
    const there = textEdit('there', 'RUN x', 'RUN y', 'x to y', 'LABEL done');
    const back = testTransform('back', (ctx) => {
      const at = ctx.doc.text.indexOf('RUN y');
      return at < 0 ? [] : [{ offset: at, message: 'y back to x', edits: [Edit.replace(at, at + 5, 'RUN x'), Edit.insert(ctx.doc.text.length, 'LABEL done=1\n')] }];
    });
    const result = await run('FROM a\nRUN x\n', [there, back]);
    expect(result.notes).toEqual([]);
    expect(result.output).toBe('FROM a\nRUN x\nLABEL done=1\n');
    // `back` added the LABEL, so it changed the file; `there` left no trace.
    expect(result.changes.map((change) => change.transform)).toEqual(['back']);
  });

  test('the same fix made again in a later pass, at the same line, is reported once', async () => {
    const bang = testTransform('bang', (ctx) => {
      const at = ctx.doc.text.indexOf('RUN x');
      if (at < 0 || ctx.doc.text.includes('x!!')) return [];
      return [{ offset: at, message: 'shout', edits: [Edit.insert(at + 5, '!')] }];
    });
    const result = await run('FROM a\nRUN x\n', [bang]);
    expect(result.output).toBe('FROM a\nRUN x!!\n');
    expect(result.changes).toEqual([{ transform: 'bang', line: 2, message: 'shout', safety: 'safe' }]);
  });

  test('fixes of two transforms in one instruction wait for each other: the later one sees the earlier result', async () => {
    const seen: string[] = [];
    const first = textEdit('first', 'RUN a', 'RUN a1', 'first', 'a1');
    const second = testTransform('second', (ctx) => {
      const run = ctx.doc.instructions.find((instruction) => instruction.keyword === 'RUN')!;
      seen.push(ctx.doc.text.slice(run.start, run.end));
      return ctx.doc.text.includes(' b2') ? [] : [{ offset: run.start, message: 'second', edits: [Edit.insert(run.end, ' b2')] }];
    });
    const result = await run('FROM a\nRUN a\n', [first, second]);
    expect(result.output).toBe('FROM a\nRUN a1 b2\n');
    expect(seen).toEqual(['RUN a', 'RUN a1', 'RUN a1 b2']);
  });
});
