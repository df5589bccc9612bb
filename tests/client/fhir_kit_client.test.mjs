// End-to-end: drives a running fhirhub through fhir-kit-client, an independent open-source FHIR
// client library, using only the library's own API (no hand-written HTTP). What a third-party
// integrator's code would do has to work unchanged against fhirhub.
//
//   node tests/client/fhir_kit_client.test.mjs BASE_URL [crud|transaction|all]
//
// BASE_URL is the server's FHIR base, e.g. http://127.0.0.1:8080/fhir. The library is the one
// scripts/bootstrap installs from tests/client/package-lock.json under .cache/client-tests;
// FHIRHUB_CLIENT_MODULES names another node_modules folder. Exits non-zero when a step fails.
//
// fhir-kit-client speaks JSON only (it sends Accept: application/fhir+json and parses every
// answer with JSON.parse), so XML is covered by the C++ end-to-end tests, not here.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules =
  process.env.FHIRHUB_CLIENT_MODULES || path.join(here, '..', '..', '.cache', 'client-tests', 'node_modules');
const [baseUrl, group = 'all'] = process.argv.slice(2);
if (!baseUrl || !['crud', 'transaction', 'all'].includes(group)) {
  console.error('usage: node fhir_kit_client.test.mjs BASE_URL [crud|transaction|all]');
  process.exit(2);
}

// The package is ESM-only and lives outside this folder's resolution path, so it is imported by
// file URL from the entry point its package.json declares.
const packageDir = path.join(modules, 'fhir-kit-client');
if (!existsSync(path.join(packageDir, 'package.json'))) {
  console.error(
    `fhir-kit-client is not installed in ${modules}; run scripts/bootstrap ` +
      '(it installs tests/client/package-lock.json with npm ci)',
  );
  process.exit(3);
}
const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
const entry = manifest.exports?.['.']?.import ?? manifest.main;
const { Client } = await import(pathToFileURL(path.join(packageDir, entry)).href);

const client = new Client({ baseUrl });
const STEP = { timeout: 30_000 };

// The HTTP answer behind a value the library returned (its documented Client.httpFor).
function httpResponse(value) {
  const { response } = Client.httpFor(value);
  assert.ok(response, 'the library keeps the HTTP response');
  return response;
}

// Runs `call`, which must fail; returns the library's error, which carries the HTTP status and
// the parsed body as error.response.{status,data}.
async function expectHttpError(call, status) {
  let caught;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, `expected the server to answer ${status}, but the call succeeded`);
  assert.ok(caught.response, `expected an HTTP error, got: ${caught.stack ?? caught}`);
  assert.equal(caught.response.status, status, JSON.stringify(caught.response.data));
  return caught;
}

// Awaits `promise`; an HTTP error from the library is rethrown with its status and whole body, which
// the library's own message leaves out.
async function explained(promise) {
  try {
    return await promise;
  } catch (error) {
    if (!error.response) throw error;
    throw new Error(`${error.message}: ${JSON.stringify(error.response.data)}`, { cause: error });
  }
}

// The fhirhub message ids (details.coding with system urn:fhirhub:message-id) of an outcome.
function messageIds(outcome) {
  return (outcome.issue ?? []).flatMap((issue) =>
    (issue.details?.coding ?? [])
      .filter((coding) => coding.system === 'urn:fhirhub:message-id')
      .map((coding) => coding.code),
  );
}

function assertOutcome(data, issueCode, messageId) {
  assert.equal(data?.resourceType, 'OperationOutcome', JSON.stringify(data));
  assert.ok(
    data.issue.some((issue) => issue.severity === 'error' && issue.code === issueCode),
    `an error issue with code ${issueCode}: ${JSON.stringify(data)}`,
  );
  assert.ok(messageIds(data).includes(messageId), `message id ${messageId}: ${JSON.stringify(data)}`);
}

// The version ids of `id`'s entries in a history Bundle, in Bundle order.
function versionsOf(bundle, resourceType, id) {
  return (bundle.entry ?? [])
    .filter((e) => e.resource?.resourceType === resourceType && e.resource?.id === id)
    .map((e) => e.resource.meta?.versionId);
}

if (group === 'crud' || group === 'all') {
  // State shared by the steps below, which run in order (node:test runs top-level tests of a file
  // one after another).
  let id;

  test('crud: create assigns an id and version 1', STEP, async () => {
    const created = await client.create({
      resourceType: 'Patient',
      body: { resourceType: 'Patient', name: [{ family: '王', given: ['小明'] }], gender: 'male' },
    });
    assert.equal(created.resourceType, 'Patient');
    assert.match(created.id ?? '', /^[A-Za-z0-9\-.]{1,64}$/);
    assert.equal(created.meta?.versionId, '1');
    assert.ok(created.meta?.lastUpdated, 'meta.lastUpdated');
    const response = httpResponse(created);
    assert.equal(response.status, 201);
    assert.match(response.headers.get('location') ?? '', new RegExp(`/Patient/${created.id}/_history/1$`));
    assert.equal(response.headers.get('etag'), 'W/"1"');
    id = created.id;
  });

  test('crud: read returns the stored version', STEP, async () => {
    assert.ok(id, 'create must have succeeded');
    const read = await client.read({ resourceType: 'Patient', id });
    assert.equal(read.id, id);
    assert.equal(read.meta.versionId, '1');
    assert.equal(read.name[0].family, '王');
    assert.deepEqual(read.name[0].given, ['小明']);
  });

  test('crud: update makes version 2', STEP, async () => {
    assert.ok(id, 'create must have succeeded');
    const updated = await client.update({
      resourceType: 'Patient',
      id,
      body: { resourceType: 'Patient', id, name: [{ family: '李' }], gender: 'male', active: true },
      options: { headers: { 'If-Match': 'W/"1"' } },
    });
    assert.equal(updated.id, id);
    assert.equal(updated.meta.versionId, '2');
    assert.equal(updated.name[0].family, '李');
    assert.equal(httpResponse(updated).status, 200);
    const read = await client.read({ resourceType: 'Patient', id });
    assert.equal(read.meta.versionId, '2');
    assert.equal(read.active, true);
  });

  test('crud: update with a stale If-Match is refused with 412', STEP, async () => {
    assert.ok(id, 'create must have succeeded');
    const error = await expectHttpError(
      () =>
        client.update({
          resourceType: 'Patient',
          id,
          body: { resourceType: 'Patient', id, active: false },
          options: { headers: { 'If-Match': 'W/"1"' } },
        }),
      412,
    );
    assertOutcome(error.response.data, 'conflict', 'store.version-conflict');
  });

  test('crud: vread returns version 1 unchanged', STEP, async () => {
    assert.ok(id, 'create must have succeeded');
    const v1 = await client.vread({ resourceType: 'Patient', id, version: '1' });
    assert.equal(v1.id, id);
    assert.equal(v1.meta.versionId, '1');
    assert.equal(v1.name[0].family, '王');
    assert.equal(v1.active, undefined);
  });

  test('crud: instance history lists both versions, newest first', STEP, async () => {
    assert.ok(id, 'create must have succeeded');
    const history = await client.history({ resourceType: 'Patient', id });
    assert.equal(history.resourceType, 'Bundle');
    assert.equal(history.type, 'history');
    assert.equal(history.entry?.length, 2, JSON.stringify(history));
    assert.deepEqual(versionsOf(history, 'Patient', id), ['2', '1']);
    assert.deepEqual(
      history.entry.map((e) => e.request?.method),
      ['PUT', 'POST'],
    );
    assert.ok(history.entry.every((e) => e.fullUrl?.endsWith(`/Patient/${id}`)), 'fullUrl');
    assert.ok(history.entry.every((e) => e.response?.status?.startsWith('20')), 'response.status');
    // The same through the explicit instance-history call.
    const again = await client.resourceHistory({ resourceType: 'Patient', id });
    assert.deepEqual(versionsOf(again, 'Patient', id), ['2', '1']);
  });

  test('crud: type history holds every version of the type, newest first', STEP, async () => {
    assert.ok(id, 'create must have succeeded');
    const other = await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } });
    const history = await client.typeHistory({ resourceType: 'Patient' });
    assert.equal(history.resourceType, 'Bundle');
    assert.equal(history.type, 'history');
    assert.ok(history.entry.every((e) => e.resource === undefined || e.resource.resourceType === 'Patient'));
    assert.deepEqual(versionsOf(history, 'Patient', id), ['2', '1']);
    assert.deepEqual(versionsOf(history, 'Patient', other.id), ['1']);
    const position = (patientId, version) =>
      history.entry.findIndex((e) => e.resource?.id === patientId && e.resource.meta.versionId === version);
    // The later write comes first.
    assert.ok(position(other.id, '1') < position(id, '2'), 'newest first');
    assert.ok(position(id, '2') < position(id, '1'), 'newest first');
  });

  test('crud: delete, then read answers 410 Gone', STEP, async () => {
    assert.ok(id, 'create must have succeeded');
    const deleted = await client.delete({ resourceType: 'Patient', id });
    assert.ok([200, 202, 204].includes(httpResponse(deleted).status));
    const error = await expectHttpError(() => client.read({ resourceType: 'Patient', id }), 410);
    assertOutcome(error.response.data, 'deleted', 'rest.deleted');
    // Earlier versions stay readable, and the delete is a version of its own.
    const v2 = await client.vread({ resourceType: 'Patient', id, version: '2' });
    assert.equal(v2.meta.versionId, '2');
    const history = await client.history({ resourceType: 'Patient', id });
    assert.equal(history.entry.length, 3);
    assert.equal(history.entry[0].request.method, 'DELETE');
    assert.equal(history.entry[0].resource, undefined);
  });

  test('crud: reading an unknown id answers 404 with an OperationOutcome', STEP, async () => {
    const error = await expectHttpError(
      () => client.read({ resourceType: 'Patient', id: 'no-such-patient' }),
      404,
    );
    assertOutcome(error.response.data, 'not-found', 'store.not-found');
  });
}

if (group === 'transaction' || group === 'all') {
  // https://hl7.org/fhir/R4/http.html#transaction: entries are processed as one unit; urn:uuid
  // fullUrls are replaced by the ids the server assigns, in every reference that names them; the
  // answer is a transaction-response Bundle with one entry per request entry, in the same order,
  // each with response.status and (for a create) response.location.
  test('transaction: a Patient and an Observation referring to it by urn:uuid', STEP, async () => {
    const patientUuid = 'urn:uuid:7f3a3c62-1f0e-4c59-9a56-0f8d2b1a9e41';
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: patientUuid,
          resource: { resourceType: 'Patient', name: [{ family: '张', given: ['伟'] }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: 'urn:uuid:0b6c1d2e-7a8f-4e3b-9c1d-5e6f7a8b9c0d',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
            subject: { reference: patientUuid },
            valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const result = await explained(client.transaction({ body: bundle }));
    assert.equal(result.resourceType, 'Bundle', JSON.stringify(result));
    assert.equal(result.type, 'transaction-response');
    assert.equal(result.entry?.length, 2, JSON.stringify(result));

    const created = result.entry.map((e, i) => {
      const type = i === 0 ? 'Patient' : 'Observation';
      assert.match(e.response?.status ?? '', /^201\b/, `entry ${i} status: ${JSON.stringify(e.response)}`);
      // A relative or absolute URL: [base/]Type/id/_history/1.
      const m = (e.response.location ?? '').match(new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})/_history/1$`));
      assert.ok(m, `entry ${i} location: ${JSON.stringify(e.response)}`);
      return m[1];
    });
    const [patientId, observationId] = created;

    const patient = await client.read({ resourceType: 'Patient', id: patientId });
    assert.equal(patient.name[0].family, '张');
    assert.equal(patient.meta.versionId, '1');
    const observation = await client.read({ resourceType: 'Observation', id: observationId });
    assert.equal(observation.subject.reference, `Patient/${patientId}`);
    assert.equal(observation.valueQuantity.value, 72);
    // When the answer carries the resources (the default, return=representation), they show the
    // rewritten reference too.
    const returned = result.entry[1].resource;
    if (returned !== undefined) assert.equal(returned.subject.reference, `Patient/${patientId}`);
  });
}
