// Every transform documents itself in transforms/<id>/README.md (what
// dockopt explain ID prints) with an example that is exactly what it does,
// and has a row in the README's transforms table that links to that page.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inMemoryBuildContext } from '../../src/engine/build-context.js';
import { docsMarkdown, parseDocsMarkdown } from '../../src/engine/docs.js';
import { fixDockerfile } from '../../src/engine/fixpoint.js';
import { CONTEXT_TRANSFORMS, TRANSFORMS } from '../../transforms/index.js';
import { recordedServices } from '../helpers/services.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

describe.each(TRANSFORMS.map((transform) => [transform.meta.id, transform] as const))('%s', (id, transform) => {
  test('docs example: before becomes exactly after', async () => {
    const { before, after } = transform.meta.docs.example;
    expect(before).not.toBe(after);
    const result = await fixDockerfile(before, { transforms: [transform], unsafeAllowed: 'all', services: recordedServices() });
    expect(result.output).toBe(after);
  });

  test('docs are complete', () => {
    const { meta } = transform;
    for (const text of [meta.title, meta.description, meta.docs.summary, meta.docs.why, meta.docs.fixSafety]) expect(text.trim().length).toBeGreaterThan(10);
  });

  test('README has a row in the transforms table that links to the docs page', () => {
    expect(readme).toMatch(new RegExp(`^\\| \\[\`${id}\`\\]\\(transforms/${id}/README\\.md\\) \\|`, 'm'));
  });

  test('the docs page is transforms/<id>/README.md, and explain renders exactly that page', () => {
    const page = path.join(root, 'transforms', id, 'README.md');
    const markdown = readFileSync(page, 'utf8');
    const parsed = parseDocsMarkdown(markdown, page);
    expect({ id: parsed.id, title: parsed.title }).toEqual({ id, title: transform.meta.title });
    expect(docsMarkdown(transform.meta)).toBe(markdown);
    expect(transform.meta.docs.url).toBe(pathToFileURL(page).href);
    expect(existsSync(new URL(transform.meta.docs.url!))).toBe(true);
  });
});

// Context transforms (dockerignore) work on a directory: the example is the
// .dockerignore before and after, for the context the transform declares.
describe.each(CONTEXT_TRANSFORMS.map((transform) => [transform.meta.id, transform] as const))('%s', (id, transform) => {
  test('docs example: before becomes exactly after', () => {
    const { before, after } = transform.meta.docs.example;
    const context = transform.exampleContext;
    expect(context['.dockerignore']).toBe(before);
    const result = transform.propose({ context: inMemoryBuildContext(context), dockerfiles: [context.Dockerfile], existing: before });
    expect(result.output).toBe(after);
  });

  test('docs are complete', () => {
    const { meta } = transform;
    for (const text of [meta.title, meta.description, meta.docs.summary, meta.docs.why, meta.docs.fixSafety]) expect(text.trim().length).toBeGreaterThan(10);
  });

  test('README has a row in the transforms table that links to the docs page', () => {
    expect(readme).toMatch(new RegExp(`^\\| \\[\`${id}\`\\]\\(transforms/${id}/README\\.md\\) \\|`, 'm'));
  });

  test('the docs page is transforms/<id>/README.md, and explain renders exactly that page', () => {
    const page = path.join(root, 'transforms', id, 'README.md');
    const markdown = readFileSync(page, 'utf8');
    const parsed = parseDocsMarkdown(markdown, page);
    expect({ id: parsed.id, title: parsed.title }).toEqual({ id, title: transform.meta.title });
    expect(docsMarkdown(transform.meta)).toBe(markdown);
    expect(transform.meta.docs.url).toBe(pathToFileURL(page).href);
    expect(existsSync(new URL(transform.meta.docs.url!))).toBe(true);
  });
});
