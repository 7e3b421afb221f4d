/** Stops what the global setup started and removes its temp folder. */
export default async function globalTeardown(): Promise<void> {
  const harness = globalThis.__KINORA_TEST_HARNESS__;
  if (!harness) return;
  globalThis.__KINORA_TEST_HARNESS__ = undefined;
  await harness.services.stop();
  harness.removeSignalHandlers();
}
