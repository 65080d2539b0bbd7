/** A variable the driver always sets for its server entries. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: start this server through the bench driver (npm run bench)`);
  return value;
}
