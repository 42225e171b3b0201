// What pkg-cleanup will do to one RUN: edits grouped by safety, the commands
// to append at its end, the cache mounts to add, and notes about what it left
// alone. The rules fill a plan; the transform turns it into findings.
import { Edit, type Finding, type Safety } from '../../src/engine/transform.js';

export interface Note {
  readonly offset: number;
  readonly message: string;
}

export interface Part {
  readonly edits: Edit[];
  readonly actions: string[];
  /** Commands to add at the end of the RUN, in order. */
  readonly append: string[];
  readonly appendActions: string[];
}

export interface PlannedMount {
  readonly target: string;
  readonly locked: boolean;
  readonly tool: string;
}

export interface Plan {
  readonly safe: Part;
  readonly unsafe: Part;
  readonly notes: Note[];
  readonly mounts: PlannedMount[];
}

export function emptyPlan(): Plan {
  const part = (): Part => ({ edits: [], actions: [], append: [], appendActions: [] });
  return { safe: part(), unsafe: part(), notes: [], mounts: [] };
}

/** Same rule as the engine: two inserts at one point collide, an insert strictly inside a replacement collides. */
export function editsOverlap(a: Edit, b: Edit): boolean {
  if (a.start === a.end && b.start === b.end) return a.start === b.start;
  if (a.start === a.end) return a.start > b.start && a.start < b.end;
  if (b.start === b.end) return b.start > a.start && b.start < a.end;
  return a.start < b.end && b.start < a.end;
}

/**
 * Adds the edits with their action unless one collides with an edit already
 * planned for the same finding; a colliding step is simply left for the
 * engine's next pass, which recomputes it on the edited text.
 */
export function addStep(plan: Plan, safety: Safety, action: string, ...edits: Edit[]): boolean {
  const part = plan[safety];
  const taken = part.edits;
  if (edits.some((edit, i) => taken.some((other) => editsOverlap(edit, other)) || edits.some((other, j) => j !== i && editsOverlap(edit, other)))) return false;
  taken.push(...edits);
  if (!part.actions.includes(action)) part.actions.push(action);
  return true;
}

export function addAppend(plan: Plan, safety: Safety, command: string, action: string): void {
  const part = plan[safety];
  if (part.append.includes(command)) return;
  part.append.push(command);
  if (!part.appendActions.includes(action)) part.appendActions.push(action);
}

export function addNote(plan: Plan, offset: number, message: string): void {
  if (!plan.notes.some((note) => note.message === message)) plan.notes.push({ offset, message });
}

export function addMount(plan: Plan, mount: PlannedMount): void {
  if (!plan.mounts.some((planned) => planned.target === mount.target)) plan.mounts.push(mount);
}

export function findingOf(offset: number, safety: Safety, actions: readonly string[], edits: readonly Edit[]): Finding | undefined {
  if (edits.length === 0) return undefined;
  return { offset, message: actions.join('; '), edits, safety };
}
