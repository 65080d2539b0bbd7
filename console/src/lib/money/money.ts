/**
 * Money as Stripe counts it: integers in the currency's minor unit (cents for EUR, yen for JPY). The number of decimals
 * comes from the currency (Intl knows which are zero-decimal), never assumed to be two.
 */

/** Decimals of a currency's minor unit: 2 for eur, 0 for jpy. */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * Formats an amount in minor units.
 * @example formatMoney(4500, 'eur') // '€45.00'
 * @example formatMoney(4500, 'jpy') // '¥4,500'
 */
export function formatMoney(minor: number, currency: string, locale?: string): string {
  if (!currency) return String(minor);
  const digits = minorDigits(currency);
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency: currency.toUpperCase() }).format(minor / 10 ** digits);
  } catch {
    return `${(minor / 10 ** digits).toFixed(digits)} ${currency.toUpperCase()}`;
  }
}

/**
 * Reads what a person typed as a price ("45", "45.5", "45,50") into minor units, or undefined when it is not a price.
 * @example parseMoney('45.50', 'eur') // 4550
 */
export function parseMoney(text: string, currency: string): number | undefined {
  const digits = minorDigits(currency);
  const normalised = text.trim().replace(',', '.');
  if (!/^\d{1,9}(\.\d*)?$/.test(normalised)) return undefined;
  const [whole, fraction = ''] = normalised.split('.');
  if (fraction.length > digits) return undefined;
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}
