import test from 'ava';
import { TitForTatChoker } from '../../../../agent/peer/choker/tit-for-tat.js';
import { Random } from '../../../../agent/peer/random.js';
import { CHOKER_CASES, type ChokerSubject, chokerCase } from './compliance.js';

const SUBJECTS: readonly ChokerSubject[] = [
  {
    name: 'TitForTatChoker',
    create: ({ seed, uploadSlots }) => new TitForTatChoker({ random: new Random(seed), uploadSlots }),
  },
];

for (const subject of SUBJECTS) {
  for (const c of CHOKER_CASES) test(chokerCase, subject, c);
}
