import type { Question } from '@opshub/schema';

export type QuestionOrder = 'votes' | 'recent';

type Orderable = Pick<Question, 'id' | 'upvotes' | 'createdAt' | 'pinned' | 'answered'>;

/**
 * The order the audience and moderators read questions in: the pinned one first (it is being answered now), then
 * open questions by the chosen order, answered ones last. `votes` is the hub's order (most upvoted first, then
 * oldest); `recent` is newest first. Ties break by id so every screen shows the same order.
 * @example sortQuestions(questions, 'votes')[0] // the pinned question, or the most upvoted unanswered one
 */
export function sortQuestions<Q extends Orderable>(questions: readonly Q[], order: QuestionOrder): Q[] {
  const rank = (q: Q) => (q.pinned ? 0 : q.answered ? 2 : 1);
  return [...questions].sort((a, b) => {
    const byRank = rank(a) - rank(b);
    if (byRank !== 0) return byRank;
    if (order === 'votes' && a.upvotes !== b.upvotes) return b.upvotes - a.upvotes;
    if (a.createdAt !== b.createdAt) return order === 'votes' ? a.createdAt - b.createdAt : b.createdAt - a.createdAt;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/** The pinned question among approved ones (the hub allows one per session). */
export function pinnedQuestion<Q extends Orderable & Pick<Question, 'status'>>(questions: readonly Q[]): Q | undefined {
  return questions.find((q) => q.pinned && q.status === 'approved');
}
