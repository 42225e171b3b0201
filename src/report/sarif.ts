// SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer): one run,
// one rule per transform, one result per fix and per note or error. Like every
// reporter it reads results, never files.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Diagnostic, DockoptErrorCode } from '../engine/errors.js';
import { docsMarkdown } from '../engine/docs.js';
import { comparePaths } from './markdown.js';
import type { FileResult } from '../engine/results.js';
import type { TransformMeta } from '../engine/transform.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
/** The base every artifact URI is relative to; GitHub resolves it to the repository root. */
export const SOURCE_ROOT = '%SRCROOT%';

// The subset of the SARIF 2.1.0 object model dockopt emits.
export type SarifLevel = 'error' | 'warning' | 'note';

export interface SarifMessage {
  readonly text: string;
  readonly markdown?: string;
}

export interface SarifArtifactLocation {
  readonly uri: string;
  readonly uriBaseId?: string;
}

export interface SarifLocation {
  readonly physicalLocation: {
    readonly artifactLocation: SarifArtifactLocation;
    readonly region: { readonly startLine: number };
  };
}

export interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly shortDescription: SarifMessage;
  readonly fullDescription: SarifMessage;
  readonly helpUri?: string;
  readonly help: SarifMessage;
  readonly defaultConfiguration: { readonly level: SarifLevel };
  readonly properties: { readonly tags: readonly string[]; readonly safety?: string; readonly network?: boolean };
}

export interface SarifResult {
  readonly ruleId: string;
  readonly ruleIndex: number;
  readonly level: SarifLevel;
  readonly message: SarifMessage;
  readonly locations: readonly SarifLocation[];
  readonly properties?: { readonly safety?: string; readonly code?: DockoptErrorCode; readonly transforms?: readonly string[] };
}

export interface SarifRun {
  readonly tool: {
    readonly driver: {
      readonly name: 'dockopt';
      /** Where dockopt is documented: an absolute URI, as the schema requires (the CLI gives the README.md it ships). */
      readonly informationUri?: string;
      readonly version?: string;
      readonly rules: readonly SarifRule[];
    };
  };
  readonly originalUriBaseIds?: Readonly<Record<string, { readonly uri: string }>>;
  readonly results: readonly SarifResult[];
}

export interface SarifLog {
  readonly $schema: typeof SARIF_SCHEMA_URI;
  readonly version: '2.1.0';
  readonly runs: readonly [SarifRun];
}

/** Problems with a file itself (no transform said them): one rule per kind that occurs. */
const PROBLEM_RULES: Partial<Readonly<Record<DockoptErrorCode, { readonly title: string; readonly summary: string }>>> = {
  PARSE_ERROR: { title: 'Dockerfile does not parse', summary: 'The Dockerfile does not parse, so dockopt left it untouched.' },
  READ_ERROR: { title: 'Dockerfile cannot be read', summary: 'The file cannot be read, or is binary or not UTF-8, so dockopt left it untouched.' },
  WRITE_ERROR: { title: 'Fixed Dockerfile cannot be written', summary: 'The fixed text could not replace the file on disk.' },
  CYCLE: { title: 'Fixes do not settle', summary: 'Transforms kept rewriting each other\u2019s result, so dockopt left the file untouched.' },
  TRANSFORM_ERROR: { title: 'Transform failed', summary: 'A transform reported an error (a failed registry lookup, or a fix rejected because it would not parse).' },
  INTERNAL_ERROR: { title: 'dockopt failed', summary: 'A bug in dockopt itself; the file was left untouched.' },
};

/** PARSE_ERROR → parse-error: the rule id of a problem with the file itself. */
export const problemRuleId = (code: DockoptErrorCode): string => code.toLowerCase().replace(/_/g, '-');

/**
 * The results as one SARIF run. Every transform given becomes a rule, and so
 * does each kind of file problem that occurs. A fix is a warning (the file
 * would change, or did with --write), a note a note, an error an error, each
 * at its line of the original file. Artifact URIs are relative to baseDir
 * (default: the working directory) under %SRCROOT%; a file outside it gets an
 * absolute file: URI. Whole-file fixes are not attached: a SARIF fix belongs
 * to one result, and dockopt's output is the sum of all of a file's changes.
 */
export function sarifReport(results: readonly FileResult[], transforms: readonly TransformMeta[], options: { toolVersion?: string; baseDir?: string; informationUri?: string } = {}): SarifLog {
  const baseDir = path.resolve(options.baseDir ?? process.cwd());
  const rules: SarifRule[] = transforms.map(transformRule);
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  const indexOfRule = (id: string, create: () => SarifRule): number => {
    const known = ruleIndex.get(id);
    if (known !== undefined) return known;
    rules.push(create());
    ruleIndex.set(id, rules.length - 1);
    return rules.length - 1;
  };

  const sarifResults: SarifResult[] = [];
  for (const result of [...results].sort((a, b) => comparePaths(a.path, b.path))) {
    const artifactLocation = artifactLocationOf(result.path, baseDir);
    const at = (line: number): SarifLocation[] => [{ physicalLocation: { artifactLocation, region: { startLine: Math.max(1, Math.trunc(line) || 1) } } }];
    const fileResults: SarifResult[] = [];

    for (const change of result.changes) {
      const ruleId = change.transform;
      fileResults.push({
        ruleId,
        ruleIndex: indexOfRule(ruleId, () => unknownTransformRule(ruleId)),
        level: 'warning',
        message: { text: `${change.message} (${result.written ? 'fixed' : 'fixable'}${change.safety === 'unsafe' ? ', unsafe fix' : ''})` },
        locations: at(change.line),
        properties: { safety: change.safety },
      });
    }
    // A transform's errors are in notes and in errors alike; errors adds the file's own problems.
    const diagnostics = [...result.notes, ...result.errors.filter((error) => !result.notes.some((note) => sameDiagnostic(note, error)))];
    for (const diagnostic of diagnostics) fileResults.push(diagnosticResult(diagnostic, at(diagnostic.line), indexOfRule));

    sarifResults.push(...fileResults.sort((a, b) => a.locations[0].physicalLocation.region.startLine - b.locations[0].physicalLocation.region.startLine));
  }

  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'dockopt',
            ...(options.informationUri !== undefined && { informationUri: options.informationUri }),
            ...(options.toolVersion !== undefined && { version: options.toolVersion }),
            rules,
          },
        },
        // Lets a viewer without a checkout of its own (a local SARIF viewer) find the files.
        originalUriBaseIds: { [SOURCE_ROOT]: { uri: pathToFileURL(baseDir).href.replace(/\/?$/, '/') } },
        results: sarifResults,
      },
    ],
  };
}

function diagnosticResult(diagnostic: Diagnostic, locations: SarifLocation[], indexOfRule: (id: string, create: () => SarifRule) => number): SarifResult {
  const level: SarifLevel = diagnostic.severity === 'error' ? 'error' : 'note';
  if (diagnostic.transform === undefined || diagnostic.transform === '') {
    const code = diagnostic.code ?? 'INTERNAL_ERROR';
    const ruleId = problemRuleId(code);
    return { ruleId, ruleIndex: indexOfRule(ruleId, () => problemRule(code)), level, message: { text: diagnostic.message }, locations, properties: { code } };
  }
  // A fix rejected for making the file invalid may name several transforms ("a,b"): it is filed under the first.
  const ids = diagnostic.transform.split(',');
  const ruleId = ids[0];
  const text = ids.length > 1 ? `${ids.join(', ')}: ${diagnostic.message}` : diagnostic.message;
  return {
    ruleId,
    ruleIndex: indexOfRule(ruleId, () => unknownTransformRule(ruleId)),
    level,
    message: { text },
    locations,
    ...((diagnostic.code !== undefined || ids.length > 1) && {
      properties: { ...(diagnostic.code !== undefined && { code: diagnostic.code }), ...(ids.length > 1 && { transforms: ids }) },
    }),
  };
}

function transformRule(meta: TransformMeta): SarifRule {
  const { docs } = meta;
  const example = `Before:\n${indent(docs.example.before)}\n\nAfter:\n${indent(docs.example.after)}`;
  return {
    id: meta.id,
    name: pascalCase(meta.id),
    shortDescription: { text: meta.title },
    fullDescription: { text: docs.summary },
    // The docs page itself (a built-in's README.md); SARIF wants an absolute URI, so it is the page shipped with dockopt.
    ...(docs.url !== undefined && { helpUri: docs.url }),
    help: {
      text: `${docs.why}\n\nWhen the fix is unsafe: ${docs.fixSafety}\n\n${example}`,
      markdown: docsMarkdown(meta),
    },
    defaultConfiguration: { level: 'warning' },
    properties: { tags: ['dockerfile', meta.safety], safety: meta.safety, network: meta.network },
  };
}

function problemRule(code: DockoptErrorCode): SarifRule {
  // Codes that concern the whole call rather than a file are thrown, not reported; the fallback keeps a new code valid.
  const { title, summary } = PROBLEM_RULES[code] ?? { title: code, summary: `dockopt reported ${code} for this file.` };
  return {
    id: problemRuleId(code),
    name: pascalCase(problemRuleId(code)),
    shortDescription: { text: title },
    fullDescription: { text: summary },
    help: { text: summary },
    defaultConfiguration: { level: 'error' },
    properties: { tags: ['dockerfile'] },
  };
}

/** A transform that said something but was not among those described (a custom one). */
function unknownTransformRule(id: string): SarifRule {
  return {
    id,
    name: pascalCase(id),
    shortDescription: { text: id },
    fullDescription: { text: `The ${id} transform.` },
    help: { text: `See \`dockopt explain ${id}\`.` },
    defaultConfiguration: { level: 'warning' },
    properties: { tags: ['dockerfile'] },
  };
}

/** Relative and percent-encoded under %SRCROOT%, or an absolute file: URI for a file outside baseDir. */
function artifactLocationOf(filePath: string, baseDir: string): SarifArtifactLocation {
  // Paths from Windows keep their backslashes in results; SARIF URIs use slashes.
  const absolute = path.resolve(baseDir, filePath.replace(/\\/g, '/'));
  const relative = path.relative(baseDir, absolute);
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    return { uri: pathToFileURL(absolute).href };
  }
  return { uri: relative.split(path.sep).map(encodeURIComponent).join('/'), uriBaseId: SOURCE_ROOT };
}

function sameDiagnostic(a: Diagnostic, b: Diagnostic): boolean {
  return a.transform === b.transform && a.line === b.line && a.message === b.message && a.severity === b.severity;
}

const pascalCase = (id: string): string =>
  id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');

const indent = (text: string): string =>
  text
    .replace(/\r?\n$/, '')
    .split(/\r?\n/)
    .map((line) => `    ${line}`)
    .join('\n');
