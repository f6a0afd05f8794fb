// SDK conformance: the official Genesys Cloud JavaScript SDK
// (purecloud-platform-client-v2, pinned in package.json), used unchanged,
// against `racetrace sim`.
//
// usage: node conformance.mjs <path to racetrace>
//
// Starts `racetrace sim --port 0 --agents 5 -q` with a private log
// directory and a scenario that keeps the world still, reads the base URL
// and credentials from its first stdout lines, points the SDK at it with
// ApiClient.setGateway(), and drives every call of genesys-api.md §8 that
// the simulator serves through the SDK's own UsersApi, PresenceApi and
// RoutingApi.  Every response is checked against
// the SDK's own model declarations (index.d.ts: no undeclared field, the
// right JSON types, required fields present), plus the enums and values
// each call must produce.  Prints `ok - <name>` / `not ok - <name>: <why>`
// per check and `N passed, M failed` last; exits 1 on any failure.  The
// simulator is stopped with SIGTERM and waited for in every case.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// Guards against a simulator that hangs instead of failing.  They turn a
// hang into a failure; nothing here measures or asserts timing.
const STARTUP_GUARD_MS = 60000;
const STOP_GUARD_MS = 60000;

const ON_QUEUE_ID = 'e08eaf1b-ee47-4fa9-a231-1200e284798f';
const CONFLICT_MESSAGE =
    'The version number of the modified resource must match the version ' +
    'number in the database.';

// Enums from genesys-api.md §2 (the Python SDK's allowed_values); the JS
// SDK declares them as plain strings.
const ROUTING_STATUSES = ['OFF_QUEUE', 'IDLE', 'INTERACTING',
    'NOT_RESPONDING', 'COMMUNICATING'];
const SYSTEM_PRESENCES = ['Available', 'Away', 'Busy', 'Offline', 'Idle',
    'On Queue', 'Meal', 'Training', 'Meeting', 'Break'];
const USER_STATES = ['active', 'inactive', 'deleted'];
const SKILL_STATES = ['active', 'inactive', 'deleted'];
const UTILIZATION_LEVELS = ['Agent', 'Organization'];
const MEMBER_BY = ['user', 'group'];
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

// ---------------------------------------------------------------------
// Results

let passed = 0;
let failed = 0;

function oneLine(text) {
    return String(text).replace(/\s+/g, ' ').trim().slice(0, 400);
}

function describe(err) {
    if (err instanceof Error) {
        // The SDK rejects a failed login with the raw axios error.
        if (err.response)
            return oneLine(`${err.message}: ` +
                           JSON.stringify(err.response.data));
        return oneLine(err.message);
    }
    // The SDK rejects a failed API call with the ErrorBody, or with
    // {status, headers, body, ...} in extended mode.
    try {
        return oneLine(JSON.stringify(err.body ?? err));
    } catch {
        return oneLine(err);
    }
}

async function check(name, fn) {
    try {
        await fn();
        passed++;
        console.log(`ok - ${name}`);
    } catch (err) {
        failed++;
        console.log(`not ok - ${name}: ${describe(err)}`);
    }
}

class CheckError extends Error {}

function expect(cond, what) {
    if (!cond)
        throw new CheckError(what);
}

function expectEqual(actual, want, what) {
    if (actual !== want)
        throw new CheckError(`${what}: expected ${JSON.stringify(want)}, ` +
                             `got ${JSON.stringify(actual)}`);
}

function expectOneOf(actual, allowed, what) {
    if (!allowed.includes(actual))
        throw new CheckError(`${what}: ${JSON.stringify(actual)} is not ` +
                             `one of ${allowed.join(', ')}`);
}

function expectIso(value, what) {
    expect(typeof value === 'string' && ISO_8601.test(value) &&
           !Number.isNaN(Date.parse(value)),
           `${what}: ${JSON.stringify(value)} is not an ISO-8601 UTC time`);
}

// The promise must reject; returns what it rejected with.
async function rejection(promise, what) {
    let value;
    try {
        value = await promise;
    } catch (err) {
        return err;
    }
    throw new CheckError(`${what} succeeded: ${describe(value)}`);
}

// ---------------------------------------------------------------------
// The SDK's model declarations (index.d.ts, namespace Models)

function loadModels(sdkDir) {
    const text = fs.readFileSync(path.join(sdkDir, 'index.d.ts'), 'utf8');
    const start = text.indexOf('declare namespace Models {');
    const models = new Map();
    const block = /^\texport interface (\w+) \{[^\n]*\n([\s\S]*?)^\t\}/gm;
    const field = /^\t\t"([^"]+)"(\?)?: (.*);$/;

    if (start < 0)
        throw new Error('index.d.ts has no Models namespace');
    block.lastIndex = start;
    for (let m; (m = block.exec(text));) {
        const fields = new Map();
        for (const line of m[2].split('\n')) {
            const f = field.exec(line);
            if (f)
                fields.set(f[1], { type: f[3], optional: f[2] === '?' });
        }
        models.set(m[1], fields);
    }
    return models;
}

function parseType(t) {
    let m;
    t = t.trim();
    if ((m = /^Array<(.*)>$/.exec(t)))
        return { kind: 'array', of: parseType(m[1]) };
    if ((m = /^\{ \[key: string\]: (.*); \}$/.exec(t)))
        return { kind: 'map', of: parseType(m[1]) };
    if ((m = /^Models\.(\w+)$/.exec(t)))
        return { kind: 'model', name: m[1] };
    if (['string', 'number', 'boolean', 'object'].includes(t))
        return { kind: t };
    throw new Error(`index.d.ts type '${t}' is not understood`);
}

function isPlainObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Collects every mismatch between @value and @type into @errors.
function validate(models, value, type, where, errors) {
    switch (type.kind) {
    case 'string':
    case 'number':
    case 'boolean':
        if (typeof value !== type.kind ||
            (type.kind === 'number' && !Number.isFinite(value)))
            errors.push(`${where}: expected ${type.kind}, got ` +
                        JSON.stringify(value));
        return;
    case 'object':
        if (!isPlainObject(value))
            errors.push(`${where}: expected an object`);
        return;
    case 'array':
        if (!Array.isArray(value)) {
            errors.push(`${where}: expected an array`);
            return;
        }
        value.forEach((v, i) =>
            validate(models, v, type.of, `${where}[${i}]`, errors));
        return;
    case 'map':
        if (!isPlainObject(value)) {
            errors.push(`${where}: expected a map`);
            return;
        }
        for (const [k, v] of Object.entries(value))
            validate(models, v, type.of, `${where}.${k}`, errors);
        return;
    case 'model': {
        const fields = models.get(type.name);
        if (!fields)
            throw new Error(`model ${type.name} is not in index.d.ts`);
        if (!isPlainObject(value)) {
            errors.push(`${where}: expected a ${type.name} object`);
            return;
        }
        for (const [k, v] of Object.entries(value)) {
            const f = fields.get(k);
            if (!f)
                errors.push(`${where}.${k}: not a field of ${type.name}`);
            else
                validate(models, v, parseType(f.type), `${where}.${k}`,
                         errors);
        }
        for (const [k, f] of fields)
            if (!f.optional && !(k in value))
                errors.push(`${where}: required ${type.name}.${k} missing`);
        return;
    }
    }
}

// ---------------------------------------------------------------------
// The simulator

// The agents' own presence process is switched off (and no actor is
// configured), so nothing but this script changes the org while it runs:
// every read-after-write below is deterministic.
const STILL_WORLD = { world: { presence: { enabled: false } } };

function startSim(binary, dir) {
    const scenario = path.join(dir, 'still-world.json');
    fs.writeFileSync(scenario, JSON.stringify(STILL_WORLD));
    const child = spawn(binary,
        ['sim', '--port', '0', '--agents', '5', '--scenario', scenario,
         '--log-dir', path.join(dir, 'logs'), '-q'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise((resolve) => {
        child.on('exit', (code, signal) => resolve({ code, signal }));
        child.on('error', (err) => resolve({ code: null, signal: null, err }));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
        stderr += d;
    });

    const lines = [];
    const rl = readline.createInterface({ input: child.stdout });
    const ready = new Promise((resolve, reject) => {
        const guard = setTimeout(() =>
            reject(new Error('simulator printed no URL within ' +
                             `${STARTUP_GUARD_MS} ms`)), STARTUP_GUARD_MS);
        rl.on('line', (line) => {
            lines.push(line);
            if (lines.length === 3) {
                clearTimeout(guard);
                resolve();
            }
        });
        exited.then(({ code, signal, err }) => {
            clearTimeout(guard);
            reject(new Error(err ? `cannot run ${binary}: ${err.message}`
                : `simulator exited (code ${code}, signal ${signal}) ` +
                  `before printing its URL: ${oneLine(stderr)}`));
        });
    });

    return {
        child,
        exited,
        stderr: () => stderr,
        async info() {
            await ready;
            const url = new URL(lines[0]);
            const id = /^client_id=(.+)$/.exec(lines[1]);
            const secret = /^client_secret=(.+)$/.exec(lines[2]);
            expect(url.protocol === 'http:' && url.hostname === '127.0.0.1' &&
                   Number(url.port) > 0,
                   `first line ${JSON.stringify(lines[0])} is not ` +
                   'http://127.0.0.1:<port>');
            expect(id && secret, 'expected client_id= and client_secret= ' +
                   `lines, got ${JSON.stringify(lines.slice(1))}`);
            return { port: Number(url.port), clientId: id[1],
                     clientSecret: secret[1] };
        },
        // SIGTERM, then wait for the exit; SIGKILL only if it hangs.
        async stop() {
            if (child.exitCode !== null || child.signalCode !== null ||
                child.pid === undefined)
                return exited;
            child.kill('SIGTERM');
            const guard = setTimeout(() => child.kill('SIGKILL'),
                                     STOP_GUARD_MS);
            const status = await exited;
            clearTimeout(guard);
            return status;
        },
    };
}

// ---------------------------------------------------------------------
// The checks

async function run(platformClient, sdkDir, sim) {
    const models = loadModels(sdkDir);
    const shape = (value, model, what = model) => {
        const errors = [];
        validate(models, value, { kind: 'model', name: model }, what,
                 errors);
        if (errors.length)
            throw new CheckError(errors.slice(0, 5).join('; '));
    };
    const client = platformClient.ApiClient.instance;
    // A second client, without a valid token.
    const anon = new platformClient.ApiClientClass();
    const users = new platformClient.UsersApi();
    const presence = new platformClient.PresenceApi();
    const routing = new platformClient.RoutingApi();
    // In extended mode the SDK resolves and rejects with {status,
    // headers, body}, which is how callers read ININ-Correlation-Id.
    const extended = async (apiClient, fn) => {
        apiClient.setReturnExtendedResponses(true);
        try {
            return await fn();
        } finally {
            apiClient.setReturnExtendedResponses(false);
        }
    };
    let info;
    const s = {}; // ids found along the way

    await check('simulator prints its URL and credentials', async () => {
        info = await sim.info();
    });
    if (!info)
        return;
    const gateway = { host: '127.0.0.1', protocol: 'http', port: info.port,
                      path_params_login: '', path_params_api: '' };
    client.setGateway(gateway);
    anon.setGateway(gateway);

    await check('setGateway points login and API at the simulator',
                async () => {
        const base = `http://127.0.0.1:${info.port}`;
        expectEqual(client.config.getConfUrl('login', 'x'), base, 'login');
        expectEqual(client.config.getConfUrl('api', 'x'), base, 'api');
    });

    await check('call without a token: 401 ErrorBody', async () => {
        const r = await rejection(extended(anon, () =>
            new platformClient.UsersApi(anon).getUsers()), 'getUsers');
        expectEqual(r.status, 401, 'HTTP status');
        shape(r.body, 'ErrorBody');
        expectEqual(r.body.status, 401, 'ErrorBody.status');
        expectEqual(r.body.code, 'authentication.required', 'code');
        expectEqual(r.body.contextId, r.headers['inin-correlation-id'],
                    'contextId vs ININ-Correlation-Id');
    });

    await check('call with an unknown token: 401 ErrorBody', async () => {
        anon.setAccessToken('not-a-token-the-simulator-issued');
        try {
            const r = await rejection(
                new platformClient.UsersApi(anon).getUser('x'), 'getUser');
            shape(r, 'ErrorBody');
            expectEqual(r.status, 401, 'ErrorBody.status');
            expectEqual(r.code, 'bad.credentials', 'code');
        } finally {
            anon.setAccessToken(undefined);
        }
    });

    await check('login with a wrong secret is rejected', async () => {
        const err = await rejection(
            anon.loginClientCredentialsGrant(info.clientId, 'wrong-secret'),
            'loginClientCredentialsGrant');
        expect(err.response, `no HTTP response: ${describe(err)}`);
        // genesys-api.md §1.2: OAuth-style body, 400 as captured.
        expectEqual(err.response.status, 400, 'HTTP status');
        expectEqual(err.response.data.error, 'invalid_client', 'error');
        expect(typeof err.response.data.error_description === 'string',
               'error_description missing');
        expect(!anon.authData.accessToken, 'a token was stored');
    });

    await check('login with an unknown client id is rejected', async () => {
        const err = await rejection(
            anon.loginClientCredentialsGrant('no-such-client',
                                             info.clientSecret),
            'loginClientCredentialsGrant');
        expectEqual(err.response?.status, 400, 'HTTP status');
        expectEqual(err.response.data.error, 'invalid_client', 'error');
    });

    await check('loginClientCredentialsGrant', async () => {
        const before = Date.now();
        const auth = await client.loginClientCredentialsGrant(
            info.clientId, info.clientSecret);
        expect(typeof auth.accessToken === 'string' &&
               auth.accessToken.length > 0, 'no access token');
        expect(auth.tokenExpiryTime > before, 'token already expired');
    });

    await check('responses carry ININ-Correlation-Id and rate headers',
                async () => {
        const r = await extended(client, () =>
            users.getUsers({ pageSize: 1 }));
        expectEqual(r.status, 200, 'HTTP status');
        expect(/^application\/json/.test(r.headers['content-type']),
               `content-type ${r.headers['content-type']}`);
        expect(/^[0-9a-f-]{36}$/.test(r.headers['inin-correlation-id']),
               `ININ-Correlation-Id ${r.headers['inin-correlation-id']}`);
        for (const h of ['inin-ratelimit-count', 'inin-ratelimit-allowed',
                         'inin-ratelimit-reset'])
            expect(/^\d+$/.test(r.headers[h]), `${h} ${r.headers[h]}`);
        const other = await extended(client, () =>
            users.getUsers({ pageSize: 1 }));
        expect(other.headers['inin-correlation-id'] !==
               r.headers['inin-correlation-id'],
               'two requests share a correlation id');
    });

    // -----------------------------------------------------------------
    // Notifications (genesys-api.md §4) through the SDK's NotificationsApi:
    // channels and subscriptions over REST (the stream itself is checked
    // by tests/integration/test_sim_notify.c).
    const notifications = new platformClient.NotificationsApi();
    const n = {}; // channel and agent ids for the notification checks

    await check('postNotificationsChannels', async () => {
        const ch = await notifications.postNotificationsChannels();
        shape(ch, 'Channel');
        expect(/^streaming-0-[a-z0-9]{26}$/.test(ch.id), `id ${ch.id}`);
        expectEqual(ch.connectUri,
                    `ws://127.0.0.1:${new URL(ch.connectUri).port}/` +
                    `channels/${ch.id}`, 'connectUri');
        expectIso(ch.expires, 'expires');
        const hours = (Date.parse(ch.expires) - Date.now()) / 3600000;
        expect(hours > 23.9 && hours <= 24, `expires in ${hours} h`);
        n.channel = ch.id;
        const u = await users.getUsers({ pageSize: 2 });
        n.agents = u.entities.map((e) => e.id);
    });

    await check('getNotificationsChannels lists the channel', async () => {
        const r = await notifications.getNotificationsChannels(
            { includechannels: 'oauthclient' });
        shape(r, 'ChannelEntityListing');
        expect(r.entities.some((c) => c.id === n.channel),
               'channel not listed');
    });

    await check('headNotificationsChannel: 200, unknown id 404',
                async () => {
        const ok = await extended(client, () =>
            notifications.headNotificationsChannel(n.channel));
        expectEqual(ok.status, 200, 'HTTP status');
        const r = await rejection(extended(client, () =>
            notifications.headNotificationsChannel('streaming-0-unknown')),
            'headNotificationsChannel');
        expectEqual(r.status, 404, 'HTTP status');
    });

    await check('postNotificationsChannelSubscriptions: combined topic ' +
                'expands, unknown user rejected', async () => {
        const a = n.agents[0];
        const unknown = 'v2.users.00000000-0000-4000-8000-000000000000.presence';
        const r = await notifications.postNotificationsChannelSubscriptions(
            n.channel,
            [{ id: `v2.users.${a}?presence&routingStatus&activity` },
             { id: unknown }]);
        shape(r, 'ChannelTopicEntityListing');
        for (const t of ['presence', 'routingStatus', 'activity']) {
            const e = r.entities.find((x) => x.id === `v2.users.${a}.${t}`);
            expect(e, `v2.users.${a}.${t} missing`);
            expectEqual(e.state, 'Permitted', `${t} state`);
        }
        const bad = r.entities.find((x) => x.id === unknown);
        expect(bad, 'rejected topic missing');
        expectEqual(bad.state, 'Rejected', 'state');
        expect(typeof bad.rejectionReason === 'string' &&
               bad.rejectionReason.length > 0, 'rejectionReason');
    });

    await check('putNotificationsChannelSubscriptions replaces the list',
                async () => {
        const topic = `v2.users.${n.agents[1]}.presence`;
        const r = await notifications.putNotificationsChannelSubscriptions(
            n.channel, [{ id: topic }], { ignoreErrors: true });
        shape(r, 'ChannelTopicEntityListing');
        expectEqual(JSON.stringify(r.entities.map((e) => e.id)),
                    JSON.stringify([topic]), 'topics');
        const g = await notifications.getNotificationsChannelSubscriptions(
            n.channel);
        shape(g, 'ChannelTopicEntityListing');
        expectEqual(JSON.stringify(g.entities.map((e) => e.id)),
                    JSON.stringify([topic]), 'GET topics');
    });

    await check('deleteNotificationsChannelSubscriptions removes all',
                async () => {
        await notifications.deleteNotificationsChannelSubscriptions(
            n.channel);
        const g = await notifications.getNotificationsChannelSubscriptions(
            n.channel);
        shape(g, 'ChannelTopicEntityListing');
        expectEqual(g.entities.length, 0, 'entities');
    });

    await check('subscriptions of an unknown channel: 404 ErrorBody',
                async () => {
        const r = await rejection(
            notifications.getNotificationsChannelSubscriptions(
                'streaming-0-unknown'),
            'getNotificationsChannelSubscriptions');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 404, 'ErrorBody.status');
    });

    await check('more than 1,000 topics on a channel: 400 ErrorBody',
                async () => {
        const topics = [];
        for (let k = 0; k < 1001; k++)
            topics.push({ id: `v2.users.no-such-user-${k}.presence` });
        const r = await rejection(
            notifications.putNotificationsChannelSubscriptions(n.channel,
                                                               topics),
            'putNotificationsChannelSubscriptions');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 400, 'ErrorBody.status');
    });

    await check('getUsers pageSize=100: all 5 agents', async () => {
        const r = await users.getUsers({ pageSize: 100 });
        shape(r, 'UserEntityListing');
        expectEqual(r.entities.length, 5, 'entities');
        expectEqual(r.total, 5, 'total');
        expectEqual(r.pageSize, 100, 'pageSize');
        expectEqual(r.pageNumber, 1, 'pageNumber');
        expectEqual(r.pageCount, 1, 'pageCount');
        for (const u of r.entities) {
            expect(Number.isInteger(u.version) && u.version >= 1,
                   `version ${u.version}`);
            expectEqual(u.state, 'active', 'state');
            expectEqual(u.selfUri, `/api/v2/users/${u.id}`, 'selfUri');
        }
        expectEqual(new Set(r.entities.map((u) => u.id)).size, 5,
                    'distinct ids');
        s.users = r.entities.map((u) => u.id);
    });

    await check('getUsers pageSize=2 pageNumber=2', async () => {
        const r = await users.getUsers({ pageSize: 2, pageNumber: 2 });
        shape(r, 'UserEntityListing');
        expectEqual(r.pageSize, 2, 'pageSize');
        expectEqual(r.pageNumber, 2, 'pageNumber');
        expectEqual(r.total, 5, 'total');
        expectEqual(r.pageCount, 3, 'pageCount');
        expectEqual(JSON.stringify(r.entities.map((u) => u.id)),
                    JSON.stringify(s.users.slice(2, 4)), 'page 2 ids');
        expect(r.nextUri && r.previousUri && r.firstUri && r.lastUri,
               'paging URIs missing');
    });

    await check('getUsers sortOrder=descending', async () => {
        const r = await users.getUsers({ pageSize: 100,
                                         sortOrder: 'descending' });
        shape(r, 'UserEntityListing');
        expectEqual(JSON.stringify(r.entities.map((u) => u.id)),
                    JSON.stringify([...s.users].reverse()), 'order');
    });

    await check('getUsers id list, expand presence,routingStatus, state any',
                async () => {
        const want = [s.users[0], s.users[3]];
        const r = await users.getUsers({
            pageSize: 100, pageNumber: 1, id: want,
            expand: ['presence', 'routingStatus'], state: 'any' });
        shape(r, 'UserEntityListing');
        expectEqual(r.total, 2, 'total');
        expectEqual(JSON.stringify(r.entities.map((u) => u.id).sort()),
                    JSON.stringify([...want].sort()), 'ids');
        for (const u of r.entities) {
            expect(u.presence && u.routingStatus, 'expand not honoured');
            expectOneOf(u.presence.presenceDefinition.systemPresence,
                        SYSTEM_PRESENCES, 'presence systemPresence');
            expectOneOf(u.routingStatus.status, ROUTING_STATUSES,
                        'routingStatus.status');
            expectEqual(u.routingStatus.userId, u.id, 'routingStatus.userId');
            expectIso(u.routingStatus.startTime, 'routingStatus.startTime');
            expectIso(u.presence.modifiedDate, 'presence.modifiedDate');
        }
    });

    await check('getUsers without expand leaves presence out', async () => {
        const r = await users.getUsers({ id: [s.users[0]] });
        expectEqual(r.entities.length, 1, 'entities');
        expect(!('presence' in r.entities[0]) &&
               !('routingStatus' in r.entities[0]),
               'presence or routingStatus present without expand');
    });

    await check('getUser with expand', async () => {
        const u = await users.getUser(s.users[0], {
            expand: ['presence', 'routingStatus'] });
        shape(u, 'User');
        expectEqual(u.id, s.users[0], 'id');
        expect(Number.isInteger(u.version), 'version is not an integer');
        expectOneOf(u.state, USER_STATES, 'state');
        expectOneOf(u.routingStatus.status, ROUTING_STATUSES,
                    'routingStatus.status');
        expectOneOf(u.presence.presenceDefinition.systemPresence,
                    SYSTEM_PRESENCES, 'systemPresence');
        s.version = u.version;
    });

    await check('getUser unknown id: 404 ErrorBody', async () => {
        const r = await rejection(
            users.getUser('00000000-0000-4000-8000-000000000000'), 'getUser');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 404, 'ErrorBody.status');
        expectEqual(r.code, 'not.found', 'code');
    });

    await check('patchUser with the current version: version+1', async () => {
        const u = await users.patchUser(s.users[0], {
            version: s.version, department: 'SDK conformance' });
        shape(u, 'User');
        expectEqual(u.id, s.users[0], 'id');
        expectEqual(u.version, s.version + 1, 'version');
        expectEqual(u.department, 'SDK conformance', 'department');
        const again = await users.getUser(s.users[0]);
        expectEqual(again.version, s.version + 1, 'version on GET');
        expectEqual(again.department, 'SDK conformance', 'department on GET');
    });

    await check('patchUser with a stale version: 409 ErrorBody', async () => {
        const r = await rejection(extended(client, () =>
            users.patchUser(s.users[0], { version: s.version,
                                          department: 'stale' })),
            'stale patchUser');
        expectEqual(r.status, 409, 'HTTP status');
        shape(r.body, 'ErrorBody');
        expectEqual(r.body.status, 409, 'ErrorBody.status');
        expectEqual(r.body.message, CONFLICT_MESSAGE, 'message');
        expect(typeof r.body.code === 'string' && r.body.code.length > 0,
               'code missing');
        const cid = r.headers['inin-correlation-id'];
        expect(cid, 'no ININ-Correlation-Id header');
        expectEqual(r.body.contextId, cid, 'contextId vs ININ-Correlation-Id');
        const u = await users.getUser(s.users[0]);
        expectEqual(u.version, s.version + 1, 'version after the 409');
        expectEqual(u.department, 'SDK conformance', 'department after 409');
    });

    await check('stale patchUser rejects with the ErrorBody by default',
                async () => {
        const r = await rejection(
            users.patchUser(s.users[0], { version: 0, title: 'x' }),
            'stale patchUser');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 409, 'ErrorBody.status');
        expectEqual(r.message, CONFLICT_MESSAGE, 'message');
    });

    await check('patchUser without a version: 400', async () => {
        const r = await rejection(
            users.patchUser(s.users[0], { title: 'no version' }),
            'patchUser');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 400, 'ErrorBody.status');
    });

    await check('putUserState with the current version', async () => {
        const st = await users.putUserState(s.users[0], {
            state: 'active', version: s.version + 1 });
        shape(st, 'UserState');
        expectEqual(st.state, 'active', 'state');
        expectEqual(st.version, s.version + 2, 'version');
        const r = await rejection(users.putUserState(s.users[0], {
            state: 'active', version: s.version + 1 }), 'stale putUserState');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 409, 'stale ErrorBody.status');
        expectEqual(r.message, CONFLICT_MESSAGE, 'stale message');
    });

    await check('getPresencedefinitions', async () => {
        const r = await presence.getPresencedefinitions({ pageSize: 100 });
        shape(r, 'OrganizationPresenceEntityListing');
        expectEqual(r.total, 10, 'total');
        for (const d of r.entities) {
            expectOneOf(d.systemPresence, SYSTEM_PRESENCES, 'systemPresence');
            expect(typeof d.languageLabels.en_US === 'string',
                   'languageLabels.en_US missing');
        }
        const onQueue = r.entities.find((d) => d.systemPresence === 'On Queue');
        expect(onQueue, 'no On Queue definition');
        expectEqual(onQueue.id, ON_QUEUE_ID, 'On Queue id');
        s.onQueue = onQueue.id;
        s.available = r.entities.find(
            (d) => d.systemPresence === 'Available').id;
    });

    await check('getUserPresencesPurecloud', async () => {
        const p = await presence.getUserPresencesPurecloud(s.users[1]);
        shape(p, 'UserPresence');
        expectOneOf(p.presenceDefinition.systemPresence, SYSTEM_PRESENCES,
                    'systemPresence');
        expectIso(p.modifiedDate, 'modifiedDate');
    });

    await check('patchUserPresencesPurecloud to Available', async () => {
        const p = await presence.patchUserPresencesPurecloud(s.users[1], {
            presenceDefinition: { id: s.available } });
        shape(p, 'UserPresence');
        expectEqual(p.presenceDefinition.id, s.available, 'definition id');
        expectEqual(p.presenceDefinition.systemPresence, 'Available',
                    'systemPresence');
    });

    await check('patchUserPresencesPurecloud to On Queue', async () => {
        const p = await presence.patchUserPresencesPurecloud(s.users[1], {
            presenceDefinition: { id: s.onQueue } });
        shape(p, 'UserPresence');
        expectEqual(p.presenceDefinition.id, ON_QUEUE_ID, 'definition id');
        expectEqual(p.presenceDefinition.systemPresence, 'On Queue',
                    'systemPresence');
        const again = await presence.getUserPresencesPurecloud(s.users[1]);
        expectEqual(again.presenceDefinition.id, ON_QUEUE_ID, 'id on GET');
    });

    await check('patchUserPresencesPurecloud message only', async () => {
        const p = await presence.patchUserPresencesPurecloud(s.users[1], {
            message: 'from the SDK' });
        shape(p, 'UserPresence');
        expectEqual(p.message, 'from the SDK', 'message');
        expectEqual(p.presenceDefinition.id, ON_QUEUE_ID,
                    'presence kept');
    });

    // The generic source-id methods build the same path when the source is
    // 'purecloud' (/api/v2/users/{userId}/presences/{sourceId}).
    await check("patchUserPresence(userId, 'purecloud') / getUserPresence",
                async () => {
        const p = await presence.patchUserPresence(s.users[3], 'purecloud', {
            presenceDefinition: { id: s.onQueue } });
        shape(p, 'UserPresence');
        expectEqual(p.presenceDefinition.systemPresence, 'On Queue',
                    'systemPresence');
        const g = await presence.getUserPresence(s.users[3], 'purecloud');
        shape(g, 'UserPresence');
        expectEqual(g.presenceDefinition.id, ON_QUEUE_ID, 'id on GET');
    });

    await check('patchUserPresencesPurecloud unknown definition: 400',
                async () => {
        const r = await rejection(presence.patchUserPresencesPurecloud(
            s.users[1], { presenceDefinition: { id: 'no-such-presence' } }),
            'patch');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 400, 'ErrorBody.status');
    });

    await check('getUserRoutingstatus', async () => {
        const r = await users.getUserRoutingstatus(s.users[1]);
        shape(r, 'RoutingStatus');
        expectEqual(r.userId, s.users[1], 'userId');
        expectOneOf(r.status, ROUTING_STATUSES, 'status');
        expectIso(r.startTime, 'startTime');
    });

    await check('putUserRoutingstatus IDLE', async () => {
        const r = await users.putUserRoutingstatus(s.users[1],
                                                   { status: 'IDLE' });
        shape(r, 'RoutingStatus');
        expectEqual(r.userId, s.users[1], 'userId');
        expectEqual(r.status, 'IDLE', 'status');
        expectIso(r.startTime, 'startTime');
        const again = await users.getUserRoutingstatus(s.users[1]);
        expectEqual(again.status, 'IDLE', 'status on GET');
    });

    await check('putUserRoutingstatus unknown status: 400', async () => {
        const r = await rejection(users.putUserRoutingstatus(s.users[1],
            { status: 'DANCING' }), 'put');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 400, 'ErrorBody.status');
    });

    await check('getRoutingUserUtilization: organization default',
                async () => {
        const r = await routing.getRoutingUserUtilization(s.users[2]);
        shape(r, 'AgentMaxUtilizationResponse');
        expectEqual(r.level, 'Organization', 'level');
        expect(r.utilization && r.utilization.call, 'no call utilization');
    });

    await check('putRoutingUserUtilization', async () => {
        const body = { utilization: { call: { maximumCapacity: 1,
            interruptableMediaTypes: [], includeNonAcd: false } } };
        const r = await routing.putRoutingUserUtilization(s.users[2], body);
        shape(r, 'AgentMaxUtilizationResponse');
        expectOneOf(r.level, UTILIZATION_LEVELS, 'level');
        expectEqual(r.level, 'Agent', 'level');
        expectEqual(r.utilization.call.maximumCapacity, 1, 'call capacity');
        expectEqual(r.utilization.call.includeNonAcd, false, 'includeNonAcd');
        const again = await routing.getRoutingUserUtilization(s.users[2]);
        expectEqual(again.level, 'Agent', 'level on GET');
        expectEqual(again.utilization.call.maximumCapacity, 1,
                    'capacity on GET');
    });

    await check('deleteRoutingUserUtilization reverts to the default',
                async () => {
        const r = await extended(client, () =>
            routing.deleteRoutingUserUtilization(s.users[2]));
        expect(r.status >= 200 && r.status < 300, `HTTP ${r.status}`);
        const again = await routing.getRoutingUserUtilization(s.users[2]);
        expectEqual(again.level, 'Organization', 'level after delete');
    });

    await check('getRoutingSkills', async () => {
        const r = await routing.getRoutingSkills({ pageSize: 100 });
        shape(r, 'SkillEntityListing');
        expect(r.entities.length >= 2, `${r.entities.length} skills`);
        expectEqual(r.total, r.entities.length, 'total');
        for (const k of r.entities)
            expectOneOf(k.state, SKILL_STATES, 'skill state');
        s.skills = r.entities.map((k) => k.id);
    });

    await check('getUserRoutingskills', async () => {
        const r = await users.getUserRoutingskills(s.users[2],
                                                   { pageSize: 100 });
        shape(r, 'UserSkillEntityListing');
        expect(r.entities.length >= 1, 'no skills');
        for (const k of r.entities) {
            expect(s.skills.includes(k.id), `unknown skill ${k.id}`);
            expect(k.proficiency >= 0 && k.proficiency <= 5,
                   `proficiency ${k.proficiency}`);
            expectOneOf(k.state, SKILL_STATES, 'state');
        }
    });

    await check('patchUserRoutingskillsBulk adds or updates', async () => {
        const before = await users.getUserRoutingskills(s.users[2],
                                                        { pageSize: 100 });
        const r = await users.patchUserRoutingskillsBulk(s.users[2],
            [{ id: s.skills[0], proficiency: 3 }]);
        shape(r, 'UserSkillEntityListing');
        const k = r.entities.find((e) => e.id === s.skills[0]);
        expect(k, 'skill not in the result');
        expectEqual(k.proficiency, 3, 'proficiency');
        const kept = before.entities.filter((e) => e.id !== s.skills[0]);
        for (const e of kept)
            expect(r.entities.some((x) => x.id === e.id),
                   `PATCH dropped skill ${e.id}`);
    });

    await check('putUserRoutingskillsBulk replaces all', async () => {
        const r = await users.putUserRoutingskillsBulk(s.users[2],
            [{ id: s.skills[1], proficiency: 4 }]);
        shape(r, 'UserSkillEntityListing');
        expectEqual(r.entities.length, 1, 'entities');
        expectEqual(r.entities[0].id, s.skills[1], 'id');
        expectEqual(r.entities[0].proficiency, 4, 'proficiency');
        const again = await users.getUserRoutingskills(s.users[2]);
        expectEqual(JSON.stringify(again.entities.map((e) => e.id)),
                    JSON.stringify([s.skills[1]]), 'skills on GET');
    });

    await check('getRoutingQueues', async () => {
        const r = await routing.getRoutingQueues({ pageSize: 100 });
        shape(r, 'QueueEntityListing');
        expect(r.entities.length >= 1, 'no queues');
        expectEqual(r.total, r.entities.length, 'total');
        s.queue = r.entities[0].id;
        s.queues = r.entities.map((q) => q.id);
    });

    await check('getRoutingQueueMembers joined=true', async () => {
        const r = await routing.getRoutingQueueMembers(s.queue,
            { pageSize: 100, joined: true });
        shape(r, 'QueueMemberEntityListing');
        for (const m of r.entities) {
            expectEqual(m.joined, true, 'joined');
            expectOneOf(m.memberBy, MEMBER_BY, 'memberBy');
            expectEqual(m.user.id, m.id, 'user.id');
            expect(s.users.includes(m.id), `unknown member ${m.id}`);
        }
    });

    await check('postRoutingQueueMembers _delete=true removes', async () => {
        const u = s.users[4];
        await routing.postRoutingQueueMembers(s.queue, [{ id: u }],
                                              { _delete: true });
        const r = await routing.getRoutingQueueMembers(s.queue,
                                                       { pageSize: 100 });
        shape(r, 'QueueMemberEntityListing');
        expect(!r.entities.some((m) => m.id === u), 'still a member');
    });

    await check('postRoutingQueueMembers adds', async () => {
        const u = s.users[4];
        await routing.postRoutingQueueMembers(s.queue, [{ id: u }]);
        const r = await routing.getRoutingQueueMembers(s.queue,
                                                       { pageSize: 100 });
        shape(r, 'QueueMemberEntityListing');
        expect(r.entities.some((m) => m.id === u), 'not a member');
    });

    await check('patchRoutingQueueMembers joins', async () => {
        const u = s.users[4];
        const r = await routing.patchRoutingQueueMembers(s.queue,
            [{ id: u, joined: true }]);
        shape(r, 'QueueMemberEntityListing');
        const m = r.entities.find((e) => e.id === u);
        expect(m, 'member not in the result');
        expectEqual(m.joined, true, 'joined');
        const j = await routing.getRoutingQueueMembers(s.queue,
            { pageSize: 100, joined: true });
        expect(j.entities.some((e) => e.id === u), 'not joined on GET');
    });

    await check('patchRoutingQueueMembers unjoins', async () => {
        const u = s.users[4];
        const r = await routing.patchRoutingQueueMembers(s.queue,
            [{ id: u, joined: false }]);
        shape(r, 'QueueMemberEntityListing');
        expectEqual(r.entities.find((e) => e.id === u)?.joined, false,
                    'joined');
        const j = await routing.getRoutingQueueMembers(s.queue,
            { pageSize: 100, joined: false });
        expect(j.entities.some((e) => e.id === u), 'still joined on GET');
    });

    await check('getUserQueues joined=false', async () => {
        const r = await users.getUserQueues(s.users[4], { joined: false });
        shape(r, 'UserQueueEntityListing');
        const q = r.entities.find((e) => e.id === s.queue);
        expect(q, 'queue missing');
        expectEqual(q.joined, false, 'joined');
        for (const e of r.entities)
            expectEqual(e.joined, false, 'joined filter');
    });

    await check('patchUserQueues joins', async () => {
        const r = await users.patchUserQueues(s.users[4],
            [{ id: s.queue, joined: true }]);
        shape(r, 'UserQueueEntityListing');
        const q = r.entities.find((e) => e.id === s.queue);
        expect(q, 'queue not in the result');
        expectEqual(q.joined, true, 'joined');
        const j = await users.getUserQueues(s.users[4], { joined: true });
        shape(j, 'UserQueueEntityListing');
        expect(j.entities.some((e) => e.id === s.queue), 'not joined on GET');
    });

    await check('patchUserQueues ignores a queue it is not a member of',
                async () => {
        const u = s.users[4];
        await routing.postRoutingQueueMembers(s.queue, [{ id: u }],
                                              { _delete: true });
        const r = await users.patchUserQueues(u,
            [{ id: s.queue, joined: true }]);
        shape(r, 'UserQueueEntityListing');
        expect(!r.entities.some((e) => e.id === s.queue),
               'non-member pair was applied');
    });

    // -----------------------------------------------------------------
    // Audit (genesys-api.md §5) and analytics user details (§6), through
    // the SDK's AuditApi and AnalyticsApi.
    const audit = new platformClient.AuditApi();
    const analytics = new platformClient.AnalyticsApi();
    const HOUR_MS = 3600 * 1000;
    // Turns a query that never finishes into a failure; measures nothing.
    const QUERY_GUARD_MS = 30000;
    const ANALYTICS_PRESENCES = ['AVAILABLE', 'AWAY', 'BUSY', 'OFFLINE',
        'IDLE', 'ON_QUEUE', 'MEAL', 'TRAINING', 'MEETING', 'BREAK'];
    const interval = `${new Date(Date.now() - HOUR_MS).toISOString()}/` +
                     `${new Date(Date.now() + HOUR_MS).toISOString()}`;
    const audited = s.users?.[3];

    await check('postAuditsQuery after two PATCHes by this client',
                async () => {
        for (const department of ['Audited-1', 'Audited-2']) {
            const u = await users.getUser(audited);
            await users.patchUser(audited, { version: u.version, department });
        }
        const st = await audit.postAuditsQuery({
            interval, serviceName: 'Directory',
            filters: [{ property: 'EntityId', value: audited }],
            sort: [{ name: 'Timestamp', sortOrder: 'ascending' }] });
        shape(st, 'AuditQueryExecutionStatusResponse');
        expectOneOf(st.state, ['Queued', 'Running', 'Succeeded'], 'state');
        expectEqual(st.interval, interval, 'interval echoed');
        expectEqual(st.serviceName, 'Directory', 'serviceName echoed');
        expectEqual(st.filters?.[0]?.value, audited, 'filters echoed');
        expectIso(st.startDate, 'startDate');
        s.auditQuery = st.id;
    });

    await check('getAuditsQueryTransactionId until Succeeded', async () => {
        expect(s.auditQuery, 'no query was created');
        const guard = Date.now() + QUERY_GUARD_MS;
        for (;;) {
            const st = await audit.getAuditsQueryTransactionId(s.auditQuery);
            shape(st, 'AuditQueryExecutionStatusResponse');
            expectEqual(st.id, s.auditQuery, 'id');
            if (st.state === 'Succeeded')
                break;
            expectOneOf(st.state, ['Queued', 'Running'], 'state');
            expect(Date.now() < guard, `still ${st.state}`);
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
    });

    await check('getAuditsQueryTransactionIdResults pages by cursor',
                async () => {
        const seen = [];
        let cursor;
        let pages = 0;
        do {
            const r = await audit.getAuditsQueryTransactionIdResults(
                s.auditQuery, { pageSize: 1, cursor, expand: ['user'] });
            shape(r, 'AuditQueryExecutionResultsResponse');
            expectEqual(r.id, s.auditQuery, 'id');
            expectEqual(r.pageSize, 1, 'pageSize');
            expect(r.entities.length <= 1, 'more than pageSize entities');
            seen.push(...r.entities);
            cursor = r.cursor;
            pages++;
            expect(pages <= 100, 'the cursor never ends');
        } while (cursor);
        expect(pages >= 2, `one page only (${seen.length} records)`);
        const mine = seen.filter((e) => e.propertyChanges?.some((p) =>
            p.property === 'department' &&
            /^Audited-/.test(p.newValues?.[0])));
        expectEqual(mine.length, 2, 'records of the two PATCHes');
        for (const e of mine) {
            shape(e, 'AuditLogMessage');
            expectEqual(e.client?.id, info.clientId, 'client.id');
            expectEqual(e.serviceName, 'Directory', 'serviceName');
            expectEqual(e.entityType, 'User', 'entityType');
            expectEqual(e.action, 'Update', 'action');
            expectEqual(e.level, 'SYSTEM', 'level');
            expectEqual(e.status, 'SUCCESS', 'status');
            expectEqual(e.entity?.id, audited, 'entity.id');
            expectIso(e.eventDate, 'eventDate');
        }
        expect(mine[0].eventDate <= mine[1].eventDate, 'ascending order');
        expectEqual(mine[1].propertyChanges[0].oldValues[0], 'Audited-1',
                    'oldValues of the second PATCH');
    });

    await check('postAuditsQueryRealtime pages by number', async () => {
        const r = await audit.postAuditsQueryRealtime({
            interval, filters: [{ property: 'ClientId', value: info.clientId }],
            pageSize: 2, pageNumber: 1 }, { expand: ['user'] });
        shape(r, 'AuditRealtimeQueryResultsResponse');
        expect(r.total >= 2, `total ${r.total}`);
        expectEqual(r.pageSize, 2, 'pageSize');
        expectEqual(r.pageNumber, 1, 'pageNumber');
        expectEqual(r.pageCount, Math.ceil(r.total / 2), 'pageCount');
        expectEqual(r.entities.length, 2, 'entities on page 1');
        for (const e of r.entities) {
            shape(e, 'AuditLogMessage');
            expectEqual(e.client?.id, info.clientId, 'client.id');
        }
    });

    await check('getAuditsQueryServicemapping', async () => {
        for (const m of [await audit.getAuditsQueryServicemapping(),
            await audit.getAuditsQueryRealtimeServicemapping()]) {
            shape(m, 'AuditQueryServiceMapping');
            const names = m.services.map((x) => x.name);
            for (const n of ['Directory', 'Presence', 'Routing'])
                expect(names.includes(n), `${n} missing from ${names}`);
        }
    });

    await check('postAuditsQuery without an interval: 400 ErrorBody',
                async () => {
        const r = await rejection(
            audit.postAuditsQuery({ serviceName: 'Directory' }),
            'postAuditsQuery');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 400, 'ErrorBody.status');
        expect(/interval/.test(r.message), `message ${r.message}`);
    });

    await check('postAnalyticsUsersDetailsQuery for one user', async () => {
        // users[1] changed presence in the checks above.
        const r = await analytics.postAnalyticsUsersDetailsQuery({
            interval, order: 'asc',
            userFilters: [{ type: 'or', predicates: [{ type: 'dimension',
                dimension: 'userId', operator: 'matches',
                value: s.users[1] }] }],
            paging: { pageSize: 100, pageNumber: 1 } });
        shape(r, 'AnalyticsUserDetailsQueryResponse');
        expectEqual(r.totalHits, 1, 'totalHits');
        const d = r.userDetails[0];
        expectEqual(d.userId, s.users[1], 'userId');
        expect(d.primaryPresence.length >= 2,
               `${d.primaryPresence.length} presence intervals`);
        expect(d.routingStatus.length >= 1, 'no routing status intervals');
        for (const [list, key, allowed] of [
            [d.primaryPresence, 'systemPresence', ANALYTICS_PRESENCES],
            [d.routingStatus, 'routingStatus', ROUTING_STATUSES]]) {
            list.forEach((iv, k) => {
                expectIso(iv.startTime, `${key}[${k}].startTime`);
                expectOneOf(iv[key], allowed, `${key}[${k}]`);
                if (k + 1 < list.length)
                    expectEqual(iv.endTime, list[k + 1].startTime,
                                `${key}[${k}].endTime`);
                else
                    expect(!('endTime' in iv),
                           `the open ${key} interval has an endTime`);
            });
        }
        expectEqual(d.primaryPresence.at(-1).systemPresence, 'ON_QUEUE',
                    'current presence');
    });

    await check('postAnalyticsUsersDetailsQuery pages over users',
                async () => {
        const r = await analytics.postAnalyticsUsersDetailsQuery({
            interval, paging: { pageSize: 2, pageNumber: 3 } });
        shape(r, 'AnalyticsUserDetailsQueryResponse');
        expectEqual(r.totalHits, 5, 'totalHits');
        expectEqual(r.userDetails?.length, 1, 'users on the last page');
        expectEqual(r.userDetails[0].userId, s.users[4], 'userId');
    });

    await check('postAnalyticsUsersDetailsQuery bad paging: 400 ErrorBody',
                async () => {
        const r = await rejection(analytics.postAnalyticsUsersDetailsQuery({
            interval, paging: { pageSize: 1000, pageNumber: 1 } }),
        'postAnalyticsUsersDetailsQuery');
        shape(r, 'ErrorBody');
        expectEqual(r.status, 400, 'ErrorBody.status');
        expect(/paging\.pageSize/.test(r.message), `message ${r.message}`);
    });
}

// ---------------------------------------------------------------------

async function main() {
    const binary = process.argv[2];
    if (!binary) {
        console.error('usage: node conformance.mjs <path to racetrace>');
        return 2;
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'racetrace-sdk-'));
    // The SDK reads (and watches) ~/.genesyscloudjavascript/config, and
    // axios honours proxy variables: keep both out of a test that must talk
    // only to 127.0.0.1.
    process.env.HOME = tmp;
    for (const v of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy',
                     'ALL_PROXY', 'all_proxy'])
        delete process.env[v];
    process.env.NO_PROXY = process.env.no_proxy = '127.0.0.1,localhost';

    const sdkDir = path.dirname(
        require.resolve('purecloud-platform-client-v2/package.json'));
    const sdkVersion = JSON.parse(
        fs.readFileSync(path.join(sdkDir, 'package.json'), 'utf8')).version;
    const platformClient = require('purecloud-platform-client-v2');
    console.log(`# purecloud-platform-client-v2 ${sdkVersion}, node ` +
                `${process.version}`);

    const sim = startSim(path.resolve(binary), tmp);
    const stopOnSignal = (sig) => {
        sim.child.kill('SIGTERM');
        process.exitCode = 128 + os.constants.signals[sig];
    };
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
    // Last resort if something below throws past the finally.
    process.on('exit', () => {
        if (sim.child.exitCode === null && sim.child.signalCode === null)
            sim.child.kill('SIGTERM');
    });

    try {
        await run(platformClient, sdkDir, sim);
    } catch (err) {
        await check('conformance run', () => {
            throw err;
        });
    } finally {
        const status = await sim.stop();
        await check('simulator exits 0 on SIGTERM', () => {
            expect(!status.err, `spawn failed: ${status.err?.message}`);
            expect(status.code === 0,
                   `exit code ${status.code}, signal ${status.signal}; ` +
                   `stderr: ${oneLine(sim.stderr())}`);
        });
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    console.log(`${passed} passed, ${failed} failed`);
    return failed ? 1 : 0;
}

process.exitCode = await main();
