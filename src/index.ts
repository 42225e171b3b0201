// dockopt as a library: the package's main export. See the README's API
// section. Importing this module has no side effects.
export { fixText, fixFile, fixFiles, listTransforms, formatDiff, type FixFileOptions, type FixFilesOptions, type TransformInfo } from './api/api.js';
export { createRegistryResolver, validateConfig, type DockoptConfig, type DockoptOptions, type PinMode } from './runner/options.js';
export { loadTransform } from './runner/custom-transforms.js';
export { decodeDockerfile } from './runner/runner.js';
export { DEFAULT_MAX_FILE_BYTES } from './runner/limits.js';
export { DockoptError, type Diagnostic, type DockoptErrorCode } from './engine/errors.js';
export type { Change, FileResult, FileStatus, TextResult } from './engine/results.js';
export { defineTransform, Edit, type Finding, type Safety, type Transform, type TransformContext, type TransformDocs, type TransformMeta, type TransformOptions } from './engine/transform.js';
export type { DockerfileDocument, InstructionInfo, Stage, Span } from './dockerfile/document.js';
export { ResolveError, type ResolveErrorKind, type ImageResolver, type ImageConfig, type ManifestSummary, type Platform } from './image/resolver.js';
export type { ImageReference } from './image/reference.js';
export { configForFile, clearConfigCache, type ResolvedConfig } from './runner/config.js';
export { docsMarkdown } from './engine/docs.js';
