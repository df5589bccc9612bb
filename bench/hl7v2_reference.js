// The JavaScript side of bench/hl7v2_compare.sh: @medplum/core's Hl7Message parses the message
// and every value is read (each sub-component of each component of each repetition of each
// field), as bench/hl7v2_bench.cc does. Prints messages per second of the process's CPU time
// (user and system, the garbage collector's threads included), as Google Benchmark counts CPU
// time, so that other load on the machine does not skew the ratio.
// usage: node hl7v2_reference.js MESSAGE_FILE SECONDS
const fs = require('fs');
const {Hl7Message} = require('@medplum/core');

const text = fs.readFileSync(process.argv[2], 'utf8');
const seconds = Number(process.argv[3] || 1);

function readAll(message) {
  let total = 0;
  for (const segment of message.segments) {
    // Field 0 is the segment name; for MSH, medplum's fields[1] is MSH-2.
    for (let f = 1; f < segment.fields.length; f++) {
      const field = segment.fields[f];
      for (let r = 0; r < field.components.length; r++) {
        const components = field.components[r];
        for (let c = 1; c <= components.length; c++) {
          const sub = components[c - 1].split(message.context.subcomponentSeparator);
          for (let s = 0; s < sub.length; s++) total += field.getComponent(c, s, r).length;
        }
      }
    }
  }
  return total;
}

let sink = 0;
for (let i = 0; i < 2000; i++) sink += readAll(Hl7Message.parse(text));  // warm up the JIT
const cpuSeconds = (usage) => (usage.user + usage.system) / 1e6;
let n = 0;
const start = cpuSeconds(process.cpuUsage());
let used = 0;
while (used < seconds) {
  for (let i = 0; i < 100; i++) sink += readAll(Hl7Message.parse(text));
  n += 100;
  used = cpuSeconds(process.cpuUsage()) - start;
}
const rate = n / used;
console.log(`${Math.round(rate)}\t${sink > 0 ? 'ok' : 'empty'}`);
