// What `dockopt verify` prints: a before/after table of the two images on
// stdout, or JSON; what went wrong (with the end of the build log) on stderr.
import type { Change } from '../engine/results.js';
import type { BuildReport, VerifyReport } from './verify.js';

/** Decimal units, as `docker images` shows sizes. */
export function formatBytes(bytes: number): string {
  const magnitude = Math.abs(bytes);
  if (magnitude < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const signed = (text: string, value: number) => (value > 0 ? `+${text}` : text);

/** One decimal, with a sign when not zero after rounding (never "-0.0"). */
const signedTenths = (value: number) => {
  const rounded = Math.round(value * 10) / 10;
  return signed((rounded === 0 ? 0 : rounded).toFixed(1), rounded);
};

/** '' (no USER) means root, and so do root and uid 0 with any group. */
export function runsAsRoot(user: string): boolean {
  return /^(|root|0)(:.*)?$/.test(user);
}

function displayUser(user: string | undefined): string {
  if (user === undefined) return '';
  return user === '' ? 'root (no USER)' : user;
}

interface Row {
  readonly label: string;
  readonly original: string;
  readonly fixed: string;
  readonly change: string;
}

function sizeRow(original: BuildReport, fixed: BuildReport | null): Row {
  const before = original.sizeBytes ?? null;
  const after = fixed?.ok ? (fixed.sizeBytes ?? null) : null;
  let change = '';
  if (before !== null && after !== null && after !== before) {
    const percent = before === 0 ? '' : ` (${signedTenths(((after - before) / before) * 100)}%)`;
    change = `${signed(formatBytes(after - before), after - before)}${percent}`;
  }
  return { label: 'image size', original: before === null ? 'unknown' : formatBytes(before), fixed: fixedCell(fixed, after === null ? 'unknown' : formatBytes(after)), change };
}

function fixedCell(fixed: BuildReport | null, value: string): string {
  return fixed?.ok ? value : 'build failed';
}

function tableRows(original: BuildReport, fixed: BuildReport | null): Row[] {
  const built = fixed?.ok ? fixed : undefined;
  const layerChange = built && built.layers !== original.layers ? signed(String(built.layers! - original.layers!), built.layers! - original.layers!) : '';
  let userChange = '';
  if (built && built.user !== original.user) {
    const wasRoot = runsAsRoot(original.user!);
    const isRoot = runsAsRoot(built.user!);
    userChange = wasRoot && !isRoot ? 'now non-root' : !wasRoot && isRoot ? 'now root' : 'changed';
  }
  const timeChange = fixed ? `${signedTenths(fixed.buildSeconds - original.buildSeconds)} s` : '';
  return [
    sizeRow(original, fixed),
    { label: 'layers', original: String(original.layers), fixed: fixedCell(fixed, String(built?.layers)), change: layerChange },
    { label: 'final user', original: displayUser(original.user), fixed: fixedCell(fixed, displayUser(built?.user)), change: userChange },
    // A failed build's time is when it stopped: still worth seeing.
    { label: 'build time', original: `${original.buildSeconds.toFixed(1)} s`, fixed: fixed ? `${fixed.buildSeconds.toFixed(1)} s` : '', change: fixed?.ok ? timeChange : '' },
  ];
}

function renderTable(rows: readonly Row[]): string {
  const header: Row = { label: '', original: 'original', fixed: 'fixed', change: 'change' };
  const all = [header, ...rows];
  const width = (key: keyof Row) => Math.max(...all.map((row) => row[key].length));
  const widths = { label: width('label'), original: width('original'), fixed: width('fixed') };
  return all
    .map((row) => `${row.label.padEnd(widths.label)}   ${row.original.padEnd(widths.original)}   ${row.fixed.padEnd(widths.fixed)}   ${row.change}`.trimEnd())
    .join('\n');
}

/** "3 fixes: merge-runs (2), pkg-cleanup" */
export function describeChanges(changes: readonly Change[]): string {
  const counts = new Map<string, number>();
  for (const change of changes) counts.set(change.transform, (counts.get(change.transform) ?? 0) + 1);
  const list = [...counts].map(([transform, count]) => (count > 1 ? `${transform} (${count})` : transform)).join(', ');
  return `${changes.length} ${changes.length === 1 ? 'fix' : 'fixes'}: ${list}`;
}

/** The text `dockopt verify` prints on stdout. */
export function verifyText(report: VerifyReport): string {
  if (report.status === 'unchanged') return `${report.dockerfile}: dockopt changes nothing, so there is nothing to build\n`;
  if (report.status === 'fix-error' || report.status === 'no-builder' || !report.original) return '';
  const heading = `${report.dockerfile}: ${describeChanges(report.changes)}; built with ${report.builder?.version ?? 'an unknown builder'}`;
  if (!report.original.ok) return `${heading}\nthe original does not build, so the fix cannot be verified\n`;
  return `${heading}\n\n${renderTable(tableRows(report.original, report.fixed))}\n`;
}

/** What `dockopt verify` prints on stderr: why nothing could be compared, or which build failed and how its log ends. */
export function verifyProblems(report: VerifyReport): string {
  const lines: string[] = [];
  for (const error of report.errors) lines.push(`${report.dockerfile}:${error.line}: error: ${error.transform ? `${error.transform}: ` : ''}${error.message}`);
  if (report.message) lines.push(`dockopt: ${report.message}`);
  const failed: [string, BuildReport | null][] = [
    ['original', report.original],
    ['fixed', report.fixed],
  ];
  for (const [which, build] of failed) {
    if (!build || build.ok) continue;
    const exit = build.exitCode === null ? 'killed' : `exit ${build.exitCode}`;
    lines.push(`dockopt: the ${which} Dockerfile does not build with ${report.builder?.name ?? 'the builder'} (${exit}); its log ends with:`);
    lines.push(...(build.logTail ?? '').split('\n').map((line) => `    ${line}`));
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** `--format json`: the report as it is, with the exit code the CLI returns. */
export function verifyJson(report: VerifyReport, exitCode: number): string {
  return `${JSON.stringify({ ...report, exitCode }, null, 2)}\n`;
}
