/**
 * The booth's own qualifying questions ("Budget this year?", "Decision maker?"), kept on the phone per booth (the
 * hub has no place for them yet). Answers travel with the capture in its notes, one `question: answer` line each, so
 * they reach the lead list, the CSV export and the sponsor without a new field.
 */
const key = (event: string, exhibitor: string) => `opshub.booth.questions.${event}.${exhibitor}`;

export const defaultQuestions = ['Timeline to buy?', 'Decision maker?'];

export function loadQuestions(event: string, exhibitor: string, storage: Pick<Storage, 'getItem'> = localStorage): string[] {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(key(event, exhibitor)) ?? 'null');
    if (Array.isArray(parsed) && parsed.every((q) => typeof q === 'string')) return parsed;
  } catch {
    // A damaged entry: start from the defaults.
  }
  return [...defaultQuestions];
}

export function saveQuestions(event: string, exhibitor: string, questions: readonly string[], storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(key(event, exhibitor), JSON.stringify(questions.map((q) => q.trim()).filter(Boolean).slice(0, 10)));
}

/**
 * The notes to send: what staff wrote, then one line per answered question.
 * @example notesWithAnswers('Wants a demo', { 'Decision maker?': 'yes' }) // 'Wants a demo\nDecision maker? yes'
 */
export function notesWithAnswers(notes: string, answers: Record<string, string>): string {
  const lines = Object.entries(answers)
    .filter(([, a]) => a.trim() !== '')
    .map(([q, a]) => `${q} ${a.trim()}`);
  return [notes.trim(), ...lines].filter(Boolean).join('\n');
}
