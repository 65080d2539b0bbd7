/**
 * The command a gate laptop runs, built from the hub's pairing answer and the address the console was served from
 * (which is the hub's). The token goes in the environment, not on the command line: it then shows in neither the
 * process list nor npm's banner.
 * @example pairingCommand({ args: ['--event', 'expo', '--gate', 'north'], token: 'eyJ…' }, new URL('http://hub:8080/'))
 * // "OPSHUB_TOKEN='eyJ…' npm run edge -- --hub ws://hub:8080 --event expo --gate north"
 */
export function pairingCommand(pairing: { args: readonly string[]; token: string }, origin: URL): string {
  return `OPSHUB_TOKEN=${shellQuote(pairing.token)} npm run edge -- ${['--hub', hubSocketUrl(origin), ...pairing.args].map(shellQuote).join(' ')}`;
}

/** The same with the token in a file saved next to the checkout (for machines where the environment is logged). */
export function tokenFileCommand(pairing: { args: readonly string[] }, origin: URL, file: string): string {
  return `npm run edge -- ${['--hub', hubSocketUrl(origin), ...pairing.args, '--token-file', file].map(shellQuote).join(' ')}`;
}

/** `ws://host:port` for `http:`, `wss://…` for `https:`. */
export function hubSocketUrl(origin: URL): string {
  return `${origin.protocol === 'https:' ? 'wss' : 'ws'}://${origin.host}`;
}

/** Quoted for POSIX shells only when needed (ids and JWTs are plain). */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
