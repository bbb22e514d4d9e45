/** The local time as HH:MM:SS, as the core nodes show it in their status texts. */
export function timeOfDay(date: Date): string {
  return date.toTimeString().slice(0, 8);
}
