/** No false weak-line alarm on loopback, runs 4-5 of 5 (see `false-alarm.js`). */

import { falseAlarmRuns } from './false-alarm.js';

falseAlarmRuns(4, 5);
