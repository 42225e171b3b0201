// dockopt as a library: the package's main export. See the README's API
// section. Importing this module has no side effects.
export { fixText, fixFile, fixFiles, listTransforms, formatDiff, type FixFileOptions, type FixFilesOptions, type TransformInfo } from './api.js';
export { createRegistryResolver, validateConfig, type DockoptConfig, type DockoptOptions, type PinMode } from './options.js';
export { loadTransform } from './custom-transforms.js';
export { decodeDockerfile } from './runner.js';
export { DockoptError, type Diagnostic, type DockoptErrorCode } from './errors.js';
export type { Change, FileResult, FileStatus, TextResult } from './results.js';
export { defineTransform, Edit, type Finding, type Safety, type Transform, type TransformContext, type TransformDocs, type TransformMeta, type TransformOptions } from './transform.js';
export type { DockerfileDocument, InstructionInfo, Stage, Span } from './dockerfile.js';
export { ResolveError, type ResolveErrorKind, type ImageResolver, type ImageConfig, type ManifestSummary, type Platform } from './resolver.js';
export type { ImageReference } from './image-ref.js';
export { configForFile, clearConfigCache, type ResolvedConfig } from './config.js';
