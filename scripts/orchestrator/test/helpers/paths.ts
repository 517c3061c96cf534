import { fileURLToPath } from 'node:url';

/** Where tests find the repository, the built CLI and their fixtures, whatever folder they sit in. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
