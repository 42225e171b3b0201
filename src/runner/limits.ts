// The size limits of reads (see read.ts), apart so that the package's type
// declarations can export them without pulling in Node's types.

/** The largest Dockerfile read by default (--max-file-size): real ones are a few KiB. */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Config, ignore and build-context files hold settings and file lists: a MiB is plenty. */
export const MAX_SIDE_FILE_BYTES = 1024 * 1024;
