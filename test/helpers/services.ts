// Services the engine hands to transforms in offline tests. Network transforms
// get their recorded test doubles here once they exist; the real clients are
// tested against real servers in their own integration tests.
export function recordedServices(): Record<string, unknown> {
  return {};
}
