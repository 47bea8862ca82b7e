// This folder's golden cases (testdata/), through compile() and createCompiler(): see core/goldens.ts.

import { goldenTests } from '../testing/goldens.ts';

goldenTests(import.meta.dirname);
