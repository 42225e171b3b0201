// The contract between the multi-stage transform and one language ecosystem:
// the ecosystem recognises its commands and, given the whole stage, says what
// the runtime stage gets (or why it cannot tell).
import type { InstructionInfo } from '../../../src/dockerfile/document.js';
import type { TransformOptions } from '../../../src/engine/transform.js';
import type { Produced } from './common.js';
import type { RuntimeImage } from '../images.js';
import type { PackageInstall } from '../packages.js';
import type { ShellCommand, StageModel } from '../stage.js';

/** Why the stage is left alone, and where. */
export interface Refusal {
  readonly reason: string;
  readonly offset: number;
}

export function refuse(reason: string, instruction: InstructionInfo | { start: number }): Refusal {
  return { reason, offset: instruction.start };
}

/** A command as notes quote it: in backticks, on one line, at most 60 characters. */
export function code(command: { readonly text: string }): string {
  const line = command.text.replace(/\s+/g, ' ').trim();
  return `\`${line.length > 60 ? `${line.slice(0, 57)}...` : line}\``;
}

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'reason' in value && 'offset' in value;
}

/** A file or directory the runtime stage copies from the build stage. */
export interface Artifact {
  readonly source: string;
  readonly destination: string;
}

/** A runtime-stage step before the artifacts: a RUN, or a COPY of build-stage files into the working directory. */
export type SetupStep = { readonly run: string } | { readonly copyFromBuild: readonly string[] };

/** Lines added to the build stage: before an instruction, or at the end of the build (before the runtime stage). */
export interface BuildInsertion {
  readonly before?: InstructionInfo;
  readonly lines: readonly string[];
}

export interface RuntimePlan {
  /** `Go`, `Node.js`… for messages. */
  readonly ecosystem: string;
  readonly runtime: RuntimeImage;
  readonly artifacts: readonly Artifact[];
  /** Instructions the runtime stage needs before the artifacts (e.g. ENV PATH for a virtualenv). */
  readonly env?: readonly string[];
  /** Steps that install what the artifacts need (e.g. production dependencies). */
  readonly setup?: readonly SetupStep[];
  readonly buildInsertions?: readonly BuildInsertion[];
  /** Where the build keeps its inputs and intermediate files; COPY and writes there stay in the build stage. */
  readonly buildDirs: readonly string[];
  /** Programs the runtime image itself provides (node, python, java), for CMD and HEALTHCHECK. */
  readonly runtimePrograms: readonly string[];
  /** Packages the runtime stage installs although the build did not (CA certificates the build image had). */
  readonly impliedPackages?: readonly string[];
  /** Installed packages this ecosystem knows to be build-only beyond the general list (node-gyp's python3). */
  readonly extraBuildOnly?: (name: string) => boolean;
  /** Which header packages the runtime has the libraries for; 'none' skips the check (nothing links them). */
  readonly libraries: 'debian' | 'python' | 'none';
  /** The runtime stage copies everything the build made, so the split only pays off with a slimmer image or packages left behind. */
  readonly copiesEverything?: boolean;
  /** Why the runtime image is not the obvious one, for the message. */
  readonly runtimeReason?: string;
  /** What the runtime stage keeps, for the message: `only /out/server`. */
  readonly summary: string;
}

export interface PlanContext {
  readonly model: StageModel;
  readonly options: TransformOptions;
  /** The commands this ecosystem claimed, in order. */
  readonly commands: readonly ShellCommand[];
  /** Files cp/mv/install/ln put somewhere. */
  readonly produced: readonly Produced[];
  /** Packages installed and not removed again. */
  readonly packages: readonly { name: string; install: PackageInstall }[];
  /** The user's --runtime-base, described. */
  readonly runtimeOverride?: RuntimeImage;
}

export interface Ecosystem {
  readonly id: string;
  readonly label: string;
  /** 'build' marks the stage as this ecosystem's build; 'support' is a command it understands that builds nothing. */
  classify(command: ShellCommand): 'build' | 'support' | undefined;
  plan(context: PlanContext): RuntimePlan | Refusal;
}
