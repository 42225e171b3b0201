// The invariants a fuzzed Dockerfile is checked for, shared by the CI fuzz test
// (test/fuzz.test.ts) and the release fuzz run (bench/fuzz.mjs). `dockopt` is
// the library's modules, from src/ (tests) or dist/ (bench):
// { fixText, DockerfileDocument, findParseProblems, shellScript, parseShell, initShell }.
//
// For every input: fixText never throws and reports no internal error, no
// crashed transform, no cycle and no timeout; a file it cannot process comes
// back byte for byte; a changed file parses, and so does the shell of every RUN
// it changed ("0 broken RUNs"); a second run over the output changes nothing
// (idempotence). A fix the engine had to reject for breaking the file is
// counted apart: the safety net held, but a transform proposed it.

/** The option sets a case is run with, chosen by its index. */
export const FUZZ_OPTION_SETS = [{}, { unsafe: true }, { unsafe: true, cacheMounts: true }, { only: ['merge-runs', 'pkg-cleanup'] }];

/** Problems found with one input under one option set: [] when every invariant holds. */
export async function checkCase(dockopt, text, options) {
  const problems = [];
  const run = async (input) => {
    try {
      return await dockopt.fixText(input, { ...options, timeout: Infinity });
    } catch (error) {
      problems.push({ kind: 'crash', detail: `fixText threw: ${error?.stack ?? error}` });
      return undefined;
    }
  };
  const first = await run(text);
  if (!first) return { problems, rejected: 0, status: 'crashed' };
  let rejected = 0;
  for (const error of first.errors) {
    if (error.code === 'INTERNAL_ERROR' || error.code === 'CYCLE' || error.code === 'TIMEOUT') problems.push({ kind: error.code.toLowerCase(), detail: error.message });
    else if (error.code === 'TRANSFORM_ERROR' && /^internal error/.test(error.message)) problems.push({ kind: 'transform-crash', detail: `${error.transform}: ${error.message}` });
    else if (error.code === 'TRANSFORM_ERROR' && /^fix rejected/.test(error.message)) rejected++;
  }
  if (first.status === 'error' && first.output !== text) problems.push({ kind: 'not-left-alone', detail: 'a file that could not be processed came back changed' });
  if (first.changed) {
    const parse = dockopt.findParseProblems(first.output);
    if (parse.length > 0) problems.push({ kind: 'broken-output', detail: `the output does not parse: line ${parse[0].line}: ${parse[0].message}` });
    else {
      await dockopt.initShell();
      const before = new Set(runScripts(dockopt, new dockopt.DockerfileDocument(text)));
      for (const script of runScripts(dockopt, new dockopt.DockerfileDocument(first.output))) {
        if (before.has(script)) continue;
        const tree = dockopt.parseShell(script);
        const broken = tree.rootNode.hasError;
        tree.delete();
        if (broken) problems.push({ kind: 'broken-run', detail: `a changed RUN does not parse as shell: ${script.slice(0, 200)}` });
      }
    }
    const second = await run(first.output);
    if (second && second.changed) problems.push({ kind: 'not-idempotent', detail: `a second run changes it again: ${second.changes.map((change) => `${change.transform}: ${change.message}`).join('; ').slice(0, 300)}` });
  }
  return { problems, rejected, status: first.status };
}

function runScripts(dockopt, doc) {
  const scripts = [];
  for (const instruction of doc.instructions) {
    if (instruction.keyword !== 'RUN') continue;
    const script = dockopt.shellScript(doc, instruction);
    if (script) scripts.push(script.script);
  }
  return scripts;
}
