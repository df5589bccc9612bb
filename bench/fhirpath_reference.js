// Evaluations per second of the HL7 FHIRPath JavaScript implementation (npm "fhirpath") on the
// cases of fhirpath_cases.json and the inputs fhirpath_bench.cc uses, for comparison.
// usage: node fhirpath_reference.js PACKAGE_DIR [SECONDS_PER_CASE]
'use strict';
const fs = require('fs');
const path = require('path');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

const packageDir = process.argv[2];
const seconds = Number(process.argv[3] || 1);
const read = (file) => JSON.parse(fs.readFileSync(path.join(packageDir, file), 'utf8'));

// The same Bundle as fhirpath_bench.cc: eight vital-sign Observations, five times over.
const members = [
  'Observation-heart-rate.json', 'Observation-body-temperature.json',
  'Observation-body-height.json', 'Observation-bmi.json', 'Observation-blood-pressure.json',
  'Observation-respiratory-rate.json', 'Observation-head-circumference.json',
  'Observation-vitals-panel.json',
];
const entries = [];
let serial = 0;
for (let r = 0; r < 5; r++) {
  for (const member of members) {
    serial++;
    entries.push({
      fullUrl: 'urn:uuid:00000000-0000-0000-0000-' + String(serial).padStart(12, '0'),
      resource: read(member),
    });
  }
}
const inputs = {
  patient: read('Patient-example.json'),
  observation: read('Observation-heart-rate.json'),
  bundle: {resourceType: 'Bundle', type: 'collection', entry: entries},
};

const cases = JSON.parse(fs.readFileSync(path.join(__dirname, 'fhirpath_cases.json'), 'utf8'));
for (const c of cases) {
  const input = inputs[c.input];
  const compiled = fhirpath.compile(c.expression, r4);
  let result = compiled(input);
  // Warm up, then count evaluations in the time budget.
  const warmEnd = process.hrtime.bigint() + BigInt(Math.round(seconds * 2e8));
  while (process.hrtime.bigint() < warmEnd) result = compiled(input);
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let n = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 100; i++) result = compiled(input);
    n += 100;
    now = process.hrtime.bigint();
  }
  const rate = n / (Number(now - start) / 1e9);
  const first = result.length === 1 && typeof result[0] !== 'object' ? ' first=' + result[0] : '';
  console.log(`${c.name}\t${Math.round(rate)}\titems=${result.length}${first}`);
}
