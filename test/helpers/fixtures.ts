// Fixture pairs: test/fixtures/<id>/<case>.input.Dockerfile and, when the
// transform must change it, <case>.output.Dockerfile (no output file = must not
// change). <case>.options.json holds transform options for that case.
// Every case also checks: the output parses, a second run is a no-op.
// UPDATE_FIXTURES=1 writes the .output files from the current behaviour.
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixDockerfile, type FixResult } from '../../src/engine/fixpoint.js';
import { findParseProblems } from '../../src/dockerfile/document.js';
import type { Transform, TransformOptions } from '../../src/engine/transform.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES_DIR = path.resolve(here, '..', 'fixtures');

export interface FixtureCase {
  readonly name: string;
  readonly input: string;
  readonly expected?: string;
  readonly options: TransformOptions;
  readonly outputPath: string;
}

export function loadFixtures(id: string): FixtureCase[] {
  const dir = path.join(FIXTURES_DIR, id);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.input.Dockerfile'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.input.Dockerfile'.length);
      const outputPath = path.join(dir, `${name}.output.Dockerfile`);
      const optionsPath = path.join(dir, `${name}.options.json`);
      return {
        name,
        input: readFileSync(path.join(dir, file), 'utf8'),
        expected: existsSync(outputPath) ? readFileSync(outputPath, 'utf8') : undefined,
        options: existsSync(optionsPath) ? (JSON.parse(readFileSync(optionsPath, 'utf8')) as TransformOptions) : {},
        outputPath,
      };
    });
}

export function runTransform(transform: Transform, input: string, options: TransformOptions = {}, services?: Record<string, unknown>): Promise<FixResult> {
  return fixDockerfile(input, { transforms: [transform], unsafeAllowed: 'all', options, services });
}

/** Human-readable findings for the snapshot: what users see in --format json. */
function describe_(result: FixResult): string {
  const lines = [
    ...result.changes.map((change) => `change  line ${change.line} [${change.safety}] ${change.message}`),
    ...result.notes.map((note) => `${note.severity.padEnd(7)} line ${note.line} ${note.message}`),
  ];
  return lines.join('\n') || '(nothing)';
}

/** services builds what the engine hands to transforms, per case (e.g. a build context read from the case's files). */
export function defineFixtureTests(transform: Transform, services?: (fixture: FixtureCase) => Record<string, unknown>): void {
  const cases = loadFixtures(transform.meta.id);
  const safeties = new Set<string>();
  describe(`${transform.meta.id} fixtures`, () => {
    test('has both changing and must-not-change cases', () => {
      expect(cases.some((fixture) => fixture.expected !== undefined)).toBe(true);
      expect(cases.some((fixture) => fixture.expected === undefined)).toBe(true);
    });
    for (const fixture of cases) {
      test(fixture.name, async () => {
        const result = await runTransform(transform, fixture.input, fixture.options, services?.(fixture));
        for (const change of result.changes) safeties.add(change.safety);
        if (process.env.UPDATE_FIXTURES === '1') {
          if (result.output === fixture.input) {
            if (existsSync(fixture.outputPath)) unlinkSync(fixture.outputPath);
          } else {
            writeFileSync(fixture.outputPath, result.output);
          }
        } else {
          expect(result.output).toBe(fixture.expected ?? fixture.input);
        }
        expect(findParseProblems(result.output)).toEqual([]);
        const second = await runTransform(transform, result.output, fixture.options, services?.(fixture));
        expect(second.output).toBe(result.output);
        expect(describe_(result)).toMatchSnapshot();
      });
    }
    // Runs after the cases above (jest keeps a file's tests in order): `dockopt list` shows a
    // safe transform with some unsafe fixes as mixed, so its meta must say so, and only then.
    if (transform.meta.safety === 'safe') {
      test('meta.hasUnsafeFixes is set exactly when some fixture gets an unsafe fix', () => {
        expect(transform.meta.hasUnsafeFixes ?? false).toBe(safeties.has('unsafe'));
      });
    }
  });
}
