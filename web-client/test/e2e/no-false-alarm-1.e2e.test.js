/** No false weak-line alarm on loopback, runs 1-3 of 5 (see `false-alarm.js`). */

import { falseAlarmRuns } from './false-alarm.js';

falseAlarmRuns(1, 3);
