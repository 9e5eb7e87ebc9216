import { parsePhoneNumberFromString } from 'libphonenumber-js/min';

/**
 * The one way the portal and the super component show a phone number: international format with
 * the country's grouping (+91 98123 45678). The BFF stores E.164 and reads a number typed without a
 * country code as Indian (its DEFAULT_PHONE_COUNTRY), as this does.
 */
export function displayPhone(value: string): string {
  return parsePhoneNumberFromString(value, 'IN')?.formatInternational() ?? value;
}
