import { crashTestFile } from '../harness/crash';

crashTestFile('switchover');
