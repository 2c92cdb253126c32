// The linter's rule registry: every rule the engine runs, one import per rule file, sorted by id.
// Add a rule by importing its file here and listing it in RULES (keep both sorted).
import type { Rule } from '../lint-types.ts';

export const RULES: readonly Rule[] = [];
