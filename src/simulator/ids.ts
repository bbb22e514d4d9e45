import { randomInt, randomUUID } from 'node:crypto';

/** A Twilio-style SID: two letters and 32 hex digits. randomUUID draws from a cached entropy pool, which keeps it cheap on the create path. */
export function newSid(prefix: string): string {
  const u = randomUUID();
  return prefix + u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24);
}

/** 20 digits starting 89 (telecom industry identifier), as a real ICCID. */
export function newIccid(): string {
  let digits = '89';
  while (digits.length < 20) digits += String(randomInt(10));
  return digits;
}
