import { DockoptError } from '../../src/engine/errors.js';

/** The DockoptError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<DockoptError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DockoptError);
    return error as DockoptError;
  }
  throw new Error('expected a DockoptError');
}
