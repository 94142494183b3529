// Placeholder until this family lands.
import type { CommandSpec } from './types';

export const commands: CommandSpec[] = [];
