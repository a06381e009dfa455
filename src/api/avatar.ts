import { createHash } from 'node:crypto';

// Quay's avatar block: a hash (of the email when there is one, as Gravatar wants) and a color
// picked from it, so that every client draws the same placeholder for the same account.
const COLORS = ['#969696', '#aec7e8', '#ff7f0e', '#ffbb78', '#2ca02c', '#98df8a', '#d62728', '#ff9896', '#9467bd', '#c5b0d5', '#8c564b', '#c49c94', '#e377c2', '#f7b6d2', '#7f7f7f', '#c7c7c7', '#bcbd22', '#1f77b4', '#17becf', '#9edae5', '#393b79'];

export interface Avatar {
  name: string;
  hash: string;
  color: string;
  kind: 'user' | 'org' | 'robot' | 'team';
}

export function avatarOf(name: string, kind: Avatar['kind'], email?: string | null): Avatar {
  const hash = createHash('md5').update(email || name).digest('hex');
  return { name, hash, color: COLORS[parseInt(hash.slice(0, 8), 16) % COLORS.length]!, kind };
}
