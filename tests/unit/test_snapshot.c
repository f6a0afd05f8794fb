/*
 * Safe writes without a server: snapshot.json survives a round trip for
 * every operation (to JSON, to a file written durably, back), a bad file
 * is refused naming its JSON path, the field comparison sees exactly the
 * differences that matter (and none of those that do not: versions,
 * null versus "", skills the replay never added), the restore builds the
 * write that puts the original back, and the dry run's list is one line
 * per write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/buf.h"
#include "base/jread.h"
#include "harness/dryrun.h"
#include "harness/restore.h"
#include "harness/scenario.h"
#include "harness/snapshot.h"
#include "support/files.h"
#include "support/qjson.h"

#define A1 "aaaaaaaa-0000-4000-8000-000000000001"
#define A2 "aaaaaaaa-0000-4000-8000-000000000002"
#define S1 "55555555-0000-4000-8000-000000000001"
#define S2 "55555555-0000-4000-8000-000000000002"
#define Q1 "99999999-0000-4000-8000-000000000001"
#define Q2 "99999999-0000-4000-8000-000000000002"

#define HEAD(op)                                                               \
    "{'tool':'racetrace','format':1,'racetrace_version':'0.1.0',"              \
    "'scenario':'t','operation':'" op "',"                                     \
    "'target':{'label':'us_west_2','api_url':'https://api.usw2.pure.cloud'},"  \
    "'budget_per_minute':300,'taken':'2026-11-24T20:00:00.000Z',"              \
    "'taken_wall_ns':1795550400000000000,"

static const char *const user_doc =
    HEAD("user-patch") "'agents':["
                       "{'id':'" A1 "','version':7,'fields':{'department':"
                       "'Sales'}},"
                       "{'id':'" A2 "','version':3,'fields':{'department':"
                       "null}}]}";

static const char *const util_doc =
    HEAD("utilization-put") "'agents':["
                            "{'id':'" A1 "','level':'Organization',"
                            "'utilization':{'call':{'maximumCapacity':1}},"
                            "'labelUtilizations':{}},"
                            "{'id':'" A2 "','level':'Agent',"
                            "'utilization':{'call':{'maximumCapacity':2,"
                            "'interruptableMediaTypes':[],'includeNonAcd':"
                            "false},'chat':{'maximumCapacity':3}},"
                            "'labelUtilizations':{}}]}";

static const char *const skills_doc =
    HEAD("skills-bulk-patch") "'agents':["
                              "{'id':'" A1 "','skills':["
                              "{'id':'" S1 "','name':'Skill 01','proficiency':"
                              "3},{'id':'" S2 "','proficiency':4.5}]}]}";

static const char *const queues_doc =
    HEAD("queue-join") "'agents':["
                       "{'id':'" A1 "','queues':["
                       "{'id':'" Q1 "','name':'Queue 01','joined':true},"
                       "{'id':'" Q2 "','joined':false}]}]}";

static const char *const template_doc =
    HEAD("template") "'template':{'read':{'method':'GET','path':"
                     "'/api/v2/users/{id}'},'write':{'method':'PATCH',"
                     "'path':'/api/v2/users/{id}','body':{'version':"
                     "'{version}','title':'Racetrace test','id':'{id}'}},"
                     "'version_field':'version'},"
                     "'agents':[{'id':'" A1 "','version':26,'fields':"
                     "{'title':'Agent'},'resource':{'id':'" A1 "',"
                     "'title':'Agent','version':26}}]}";

/* @doc printed and parsed again: json_int64()'s raw numbers become plain
 * ones, as in a file. */
static cJSON *reparsed(const cJSON *doc)
{
    char *text = cJSON_PrintUnformatted(doc);
    cJSON *out = cJSON_Parse(text);

    free(text);
    assert_non_null(out);
    return out;
}

static void load(struct snapshot *snap, const char *doc)
{
    struct jread jr;
    cJSON *root = qjson_parse(doc);

    snapshot_init(snap);
    jread_init(&jr, "snapshot.json");
    if (snapshot_from_json(snap, &jr, root))
        fail_msg("fixture refused: %s", jr.error);
    cJSON_Delete(root);
}

/* @doc must be refused with an error containing @want. */
static void refused(const char *doc, const char *want)
{
    struct snapshot snap;
    struct jread jr;
    cJSON *root = qjson_parse(doc);

    snapshot_init(&snap);
    jread_init(&jr, "snapshot.json");
    assert_int_equal(snapshot_from_json(&snap, &jr, root), RT_EINVAL);
    if (!strstr(jr.error, want))
        fail_msg("error '%s' does not contain '%s'", jr.error, want);
    assert_int_equal(snap.n_agents, 0);
    assert_null(snap.agents);
    cJSON_Delete(root);
}

static cJSON *state(const char *single_quoted)
{
    return qjson_parse(single_quoted);
}

/* The fields snapshot_diff() names for @orig and @cur; asserts the count
 * matches the names. */
static void diff_is(const struct snapshot *snap, const char *orig,
                    const char *cur, const char *want)
{
    cJSON *o = state(orig), *c = state(cur);
    struct buf fields;
    size_t n, commas = 0;

    buf_init(&fields, 4096);
    n = snapshot_diff(snap, o, c, &fields);
    assert_string_equal(buf_str(&fields), want);
    for (const char *p = want; *p; p++)
        commas += *p == ',';
    assert_int_equal(n, *want ? commas + 1 : 0);
    /* The count does not depend on whether names are asked for. */
    assert_int_equal(snapshot_diff(snap, o, c, NULL), n);
    buf_release(&fields);
    cJSON_Delete(o);
    cJSON_Delete(c);
}

/* ------------------------------------------------------------------ */

static void every_operation_survives_a_round_trip(void **unused)
{
    const char *const docs[] = {user_doc, util_doc, skills_doc, queues_doc,
                                template_doc};

    (void)unused;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct snapshot a, b;
        struct jread jr;
        cJSON *first, *second, *root = qjson_parse(docs[i]);

        load(&a, docs[i]);
        second = snapshot_to_json(&a);
        first = reparsed(second);
        cJSON_Delete(second);
        /* Everything read is written back, nothing more. */
        if (!cJSON_Compare(first, root, 1)) {
            char *got = cJSON_PrintUnformatted(first);
            fail_msg("fixture %zu changed on the way: %s", i, got);
        }
        snapshot_init(&b);
        jread_init(&jr, "snapshot.json");
        assert_int_equal(snapshot_from_json(&b, &jr, first), RT_OK);
        {
            cJSON *raw = snapshot_to_json(&b);
            second = reparsed(raw);
            cJSON_Delete(raw);
        }
        assert_true(cJSON_Compare(first, second, 1));
        assert_int_equal(a.operation, b.operation);
        assert_int_equal(a.n_agents, b.n_agents);
        assert_string_equal(b.api_url, "https://api.usw2.pure.cloud");
        assert_string_equal(b.target, "us_west_2");
        assert_int_equal(b.budget_per_minute, 300);
        cJSON_Delete(first);
        cJSON_Delete(second);
        cJSON_Delete(root);
        snapshot_release(&a);
        snapshot_release(&b);
    }
}

static void saved_file_loads_back(void **unused)
{
    char dir[4096], path[4200], tmp[4300];
    struct snapshot a, b;
    struct jread jr;
    cJSON *x, *y;

    (void)unused;
    assert_int_equal(files_mkdtemp(dir, sizeof(dir), "rt-snapshot"), 0);
    snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    load(&a, template_doc);
    assert_int_equal(snapshot_save(&a, path), RT_OK);
    assert_false(files_exists(tmp));
    snapshot_init(&b);
    jread_init(&jr, path);
    if (snapshot_load(&b, &jr, path))
        fail_msg("%s", jr.error);
    x = snapshot_to_json(&a);
    y = snapshot_to_json(&b);
    {
        cJSON *rx = reparsed(x), *ry = reparsed(y);
        assert_true(cJSON_Compare(rx, ry, 1));
        cJSON_Delete(rx);
        cJSON_Delete(ry);
    }
    assert_string_equal(b.tmpl.write_method, "PATCH");
    assert_string_equal(b.tmpl.version_field, "version");
    cJSON_Delete(x);
    cJSON_Delete(y);
    snapshot_release(&a);
    snapshot_release(&b);
    assert_int_equal(files_remove_tree(dir), 0);
}

static void bad_files_are_refused_by_json_path(void **unused)
{
    (void)unused;
    refused(HEAD("user-patch") "'agents':[{'id':'" A1 "','version':1}]}",
            "agents[0].fields: expected an object");
    refused(HEAD("user-patch") "'agents':[{'id':'" A1 "','fields':{}}]}",
            "agents[0]: missing \"version\"");
    refused(HEAD("user-patch") "'agents':[{'id':'" A1 "','version':1,"
                               "'fields':{},'skills':[]}]}",
            "agents[0].skills");
    refused(HEAD("user-patch") "'agents':[{'id':'" A1 "','version':1,"
                               "'fields':{}},{'id':'" A1 "','version':1,"
                               "'fields':{}}]}",
            "agents[1]: agent '" A1 "' is listed twice");
    refused(HEAD("utilization-put") "'agents':[{'id':'" A1
                                    "','level':'Team','utilization':{}}]}",
            "agents[0].level");
    refused(HEAD("skills-bulk-patch") "'agents':[{'id':'" A1 "','skills':["
                                      "{'id':'" S1 "','proficiency':9}]}]}",
            "agents[0].skills[0].proficiency");
    refused(HEAD("queue-join") "'agents':[{'id':'" A1 "','queues':["
                               "{'id':'" Q1 "'}]}]}",
            "agents[0].queues[0]: missing \"joined\"");
    refused(HEAD("queue-join") "'agents':[{'id':'../x','queues':[]}]}",
            "agents[0]: expected an agent id");
    refused(HEAD("template") "'agents':[]}", "template: missing");
    refused(HEAD("template") "'template':{'read':{'method':'GET','path':"
                             "'/api/v2/users/{id}'},'write':{'method':'POST',"
                             "'path':'/x/{id}','body':{}},'version_field':"
                             "'version'},'agents':[]}",
            "template.write.method");
    refused(HEAD("user-patch") "'agents':{}}", "agents: expected an array");
    refused("{'tool':'racetrace','format':2,'operation':'user-patch',"
            "'target':{'label':'x','api_url':'http://h'},'agents':[]}",
            "format: expected 1");
    refused("{'tool':'racetrace','format':1,'operation':'user-patch',"
            "'agents':[]}",
            "target: missing");
    refused("{'tool':'racetrace','format':1,'operation':'user-patch',"
            "'target':{'label':'x','api_url':'ftp://h'},'agents':[]}",
            "target.api_url");
    refused("{'tool':'racetrace','format':1,'operation':'frob',"
            "'target':{'label':'x','api_url':'http://h'},'agents':[]}",
            "operation");
    refused("{'tool':'other','format':1,'operation':'user-patch',"
            "'target':{'label':'x','api_url':'http://h'},'agents':[]}",
            "tool: expected \"racetrace\"");
    refused("{'tool':'racetrace','format':1,'operation':'user-patch',"
            "'target':{'label':'x','api_url':'http://h'},'agents':[],"
            "'extra':1}",
            "extra");
}

static void user_fields_compare_but_versions_do_not(void **unused)
{
    struct snapshot snap;

    (void)unused;
    load(&snap, user_doc);
    diff_is(&snap, "{'version':7,'fields':{'department':'Sales'}}",
            "{'version':9,'fields':{'department':'Sales'}}", "");
    diff_is(&snap, "{'version':7,'fields':{'department':'Sales'}}",
            "{'version':8,'fields':{'department':'Sales (racetrace)'}}",
            "department");
    /* Absent, null and "" are one value. */
    diff_is(&snap, "{'version':7,'fields':{'department':null}}",
            "{'version':8,'fields':{'department':''}}", "");
    diff_is(&snap, "{'version':7,'fields':{'department':null}}",
            "{'version':8,'fields':{}}", "");
    diff_is(&snap, "{'version':7,'fields':{'department':null}}",
            "{'version':8,'fields':{'department':'(racetrace)'}}",
            "department");
    snapshot_release(&snap);
}

static void utilization_compares_what_the_level_owns(void **unused)
{
    struct snapshot snap;

    (void)unused;
    load(&snap, util_doc);
    /* At the org's level the values are the org's: only the level. */
    diff_is(&snap,
            "{'level':'Organization','utilization':{'call':"
            "{'maximumCapacity':1}}}",
            "{'level':'Organization','utilization':{'call':"
            "{'maximumCapacity':4}}}",
            "");
    diff_is(&snap,
            "{'level':'Organization','utilization':{'call':"
            "{'maximumCapacity':1}}}",
            "{'level':'Agent','utilization':{'call':{'maximumCapacity':2}}}",
            "level");
    diff_is(&snap,
            "{'level':'Agent','utilization':{'call':{'maximumCapacity':2},"
            "'chat':{'maximumCapacity':3}},'labelUtilizations':{}}",
            "{'level':'Agent','utilization':{'call':{'maximumCapacity':1},"
            "'chat':{'maximumCapacity':3},'email':{'maximumCapacity':1}}}",
            "utilization.call,utilization.email");
    diff_is(&snap,
            "{'level':'Agent','utilization':{},'labelUtilizations':{'l1':"
            "{'maximumCapacity':1}}}",
            "{'level':'Agent','utilization':{},'labelUtilizations':{}}",
            "labelUtilizations");
    snapshot_release(&snap);
}

static void skills_and_queues_compare_each_entry(void **unused)
{
    struct snapshot snap;

    (void)unused;
    load(&snap, skills_doc);
    diff_is(&snap,
            "{'skills':[{'id':'" S1 "','proficiency':3},{'id':'" S2
            "','proficiency':4.5}]}",
            "{'skills':[{'id':'" S2 "','proficiency':4.5},{'id':'" S1
            "','proficiency':3},{'id':'x','proficiency':1}]}",
            "");
    diff_is(&snap,
            "{'skills':[{'id':'" S1 "','proficiency':3},{'id':'" S2
            "','proficiency':4.5}]}",
            "{'skills':[{'id':'" S1 "','proficiency':2}]}",
            "skill." S1 ",skill." S2);
    snapshot_release(&snap);
    load(&snap, queues_doc);
    diff_is(&snap,
            "{'queues':[{'id':'" Q1 "','joined':true},{'id':'" Q2
            "','joined':false}]}",
            "{'queues':[{'id':'" Q1 "','joined':false}]}",
            "queue." Q1 ",queue." Q2);
    snapshot_release(&snap);
}

static void template_fields_compare_deeply(void **unused)
{
    struct snapshot snap;

    (void)unused;
    load(&snap, template_doc);
    diff_is(&snap, "{'version':1,'fields':{'title':'Agent','a':{'b':[1,2]}}}",
            "{'version':5,'fields':{'title':'Agent','a':{'b':[1,2]}}}", "");
    diff_is(&snap, "{'version':1,'fields':{'title':'Agent','a':{'b':[1,2]}}}",
            "{'version':5,'fields':{'title':'Boss','a':{'b':[2,1]}}}",
            "title,a");
    snapshot_release(&snap);
}

/* ------------------------------------------------------------------ */

/* The write restore_write_for() builds, its body parsed. */
static cJSON *write_for(const struct snapshot *snap, const char *orig,
                        const char *cur, struct restore_write *w)
{
    cJSON *o = state(orig), *c = state(cur), *body = NULL;
    char why[256];

    if (restore_write_for(snap, A1, o, c, w, why, sizeof(why)))
        fail_msg("no write: %s", why);
    if (w->body)
        assert_non_null(body = cJSON_Parse(w->body));
    cJSON_Delete(o);
    cJSON_Delete(c);
    return body;
}

static void user_restore_sends_the_current_version(void **unused)
{
    struct snapshot snap;
    struct restore_write w;
    cJSON *body, *want;

    (void)unused;
    load(&snap, user_doc);
    body = write_for(&snap, "{'version':7,'fields':{'department':'Sales'}}",
                     "{'version':12,'fields':{'department':'Sales "
                     "(racetrace)'}}",
                     &w);
    want = qjson_parse("{'version':12,'department':'Sales'}");
    assert_string_equal(w.method, "PATCH");
    assert_string_equal(w.path, "/api/v2/users/" A1);
    assert_string_equal(w.route, "/api/v2/users/{id}");
    assert_int_equal(w.version_sent, 12);
    assert_true(cJSON_Compare(body, want, 1));
    cJSON_Delete(body);
    cJSON_Delete(want);
    restore_write_release(&w);
    snapshot_release(&snap);
}

static void template_restore_writes_the_original_fields(void **unused)
{
    struct snapshot snap;
    struct restore_write w;
    cJSON *body, *want;

    (void)unused;
    load(&snap, template_doc);
    body = write_for(&snap, "{'version':26,'fields':{'title':'Agent'}}",
                     "{'version':31,'fields':{'title':'Racetrace test'}}", &w);
    want = qjson_parse("{'version':31,'title':'Agent','id':'" A1 "'}");
    assert_string_equal(w.method, "PATCH");
    assert_string_equal(w.path, "/api/v2/users/" A1);
    assert_int_equal(w.version_sent, 31);
    if (!cJSON_Compare(body, want, 1))
        fail_msg("body %s", w.body);
    cJSON_Delete(body);
    cJSON_Delete(want);
    restore_write_release(&w);
    snapshot_release(&snap);
}

static void utilization_restore_deletes_or_puts(void **unused)
{
    struct snapshot snap;
    struct restore_write w;
    cJSON *body, *want;

    (void)unused;
    load(&snap, util_doc);
    body = write_for(&snap,
                     "{'level':'Organization','utilization':{'call':"
                     "{'maximumCapacity':1}}}",
                     "{'level':'Agent','utilization':{'call':"
                     "{'maximumCapacity':2}}}",
                     &w);
    assert_string_equal(w.method, "DELETE");
    assert_null(body);
    assert_null(w.body);
    assert_string_equal(w.path, "/api/v2/routing/users/" A1 "/utilization");
    assert_int_equal(w.version_sent, -1);
    restore_write_release(&w);
    body = write_for(&snap,
                     "{'level':'Agent','utilization':{'call':"
                     "{'maximumCapacity':2}},'labelUtilizations':{}}",
                     "{'level':'Agent','utilization':{'call':"
                     "{'maximumCapacity':1}},'labelUtilizations':{}}",
                     &w);
    want = qjson_parse("{'utilization':{'call':{'maximumCapacity':2}},"
                       "'labelUtilizations':{}}");
    assert_string_equal(w.method, "PUT");
    assert_true(cJSON_Compare(body, want, 1));
    cJSON_Delete(body);
    cJSON_Delete(want);
    restore_write_release(&w);
    snapshot_release(&snap);
}

static void lists_restore_only_what_differs(void **unused)
{
    struct snapshot snap;
    struct restore_write w;
    cJSON *body, *want, *o, *c;
    char why[256];

    (void)unused;
    load(&snap, skills_doc);
    body = write_for(&snap,
                     "{'skills':[{'id':'" S1 "','proficiency':3},{'id':'" S2
                     "','proficiency':4.5}]}",
                     "{'skills':[{'id':'" S1 "','proficiency':4},{'id':'" S2
                     "','proficiency':4.5}]}",
                     &w);
    want = qjson_parse("[{'id':'" S1 "','proficiency':3}]");
    assert_string_equal(w.method, "PATCH");
    assert_string_equal(w.path, "/api/v2/users/" A1 "/routingskills/bulk");
    assert_true(cJSON_Compare(body, want, 1));
    cJSON_Delete(body);
    cJSON_Delete(want);
    restore_write_release(&w);
    snapshot_release(&snap);

    load(&snap, queues_doc);
    body = write_for(&snap,
                     "{'queues':[{'id':'" Q1 "','joined':true},{'id':'" Q2
                     "','joined':false}]}",
                     "{'queues':[{'id':'" Q1 "','joined':false},{'id':'" Q2
                     "','joined':false}]}",
                     &w);
    want = qjson_parse("[{'id':'" Q1 "','joined':true}]");
    assert_string_equal(w.path, "/api/v2/users/" A1 "/queues");
    assert_true(cJSON_Compare(body, want, 1));
    cJSON_Delete(body);
    cJSON_Delete(want);
    restore_write_release(&w);
    /* A membership that is gone is not the replay's to put back. */
    o = state("{'queues':[{'id':'" Q1 "','joined':true}]}");
    c = state("{'queues':[]}");
    assert_int_equal(restore_write_for(&snap, A1, o, c, &w, why, sizeof(why)),
                     RT_ENOENT);
    assert_non_null(strstr(why, "no longer a member of queue " Q1));
    assert_null(w.body);
    cJSON_Delete(o);
    cJSON_Delete(c);
    snapshot_release(&snap);
}

static void versioned_restore_needs_a_version(void **unused)
{
    struct snapshot snap;
    struct restore_write w;
    cJSON *o, *c;
    char why[256];

    (void)unused;
    load(&snap, user_doc);
    o = state("{'version':7,'fields':{'department':'Sales'}}");
    c = state("{'fields':{'department':'x'}}");
    assert_int_equal(restore_write_for(&snap, A1, o, c, &w, why, sizeof(why)),
                     RT_EINVAL);
    assert_non_null(strstr(why, "no version"));
    cJSON_Delete(o);
    cJSON_Delete(c);
    snapshot_release(&snap);
}

static void templates_that_cannot_be_restored_are_refused(void **unused)
{
    struct scenario scn;

    (void)unused;
    scenario_defaults(&scn);
    snprintf(scn.file, sizeof(scn.file), "x.json");
    snprintf(scn.target, sizeof(scn.target), "us_west_2");
    scn.replay.enabled = 1;
    scn.replay.operation = SCN_OP_USER_PATCH;
    assert_int_equal(snapshot_check_scenario(&scn), RT_OK);
    scn.replay.operation = SCN_OP_TEMPLATE;
    snprintf(scn.replay.tmpl.write_method, sizeof(scn.replay.tmpl.write_method),
             "POST");
    scn.replay.tmpl.write_body = cJSON_CreateObject();
    assert_int_equal(snapshot_check_scenario(&scn), RT_EINVAL);
    snprintf(scn.replay.tmpl.write_method, sizeof(scn.replay.tmpl.write_method),
             "PUT");
    assert_int_equal(snapshot_check_scenario(&scn), RT_OK);
    scenario_release(&scn);
}

static void counts_say_whether_the_restore_is_complete(void **unused)
{
    struct restore_counts c = {
        .agents = 3, .written = 2, .already_original = 1};

    (void)unused;
    assert_true(restore_complete(&c));
    c.failed = 1;
    assert_false(restore_complete(&c));
    c.failed = 0;
    c.not_attempted = 1;
    assert_false(restore_complete(&c));
}

static void dry_run_lists_one_line_per_write(void **unused)
{
    char dir[4096], path[4200], tmp[4300];
    struct dryrun *d;
    char *text;

    (void)unused;
    assert_int_equal(files_mkdtemp(dir, sizeof(dir), "rt-dryrun"), 0);
    snprintf(path, sizeof(path), "%s/%s", dir, DRYRUN_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(dryrun_open(&d, dir), RT_OK);
    /* Being written: only the temporary file exists. */
    assert_true(files_exists(tmp));
    assert_false(files_exists(path));
    dryrun_write(d, "PATCH", "/api/v2/users/" A1,
                 "{\"version\":3,\n\"department\":\"x\"}");
    dryrun_write(d, "DELETE", "/api/v2/routing/users/" A1 "/utilization", NULL);
    assert_int_equal(dryrun_count(d), 2);
    assert_int_equal(dryrun_close(d), RT_OK);
    assert_false(files_exists(tmp));
    text = files_read(path, NULL);
    assert_string_equal(text,
                        "PATCH /api/v2/users/" A1
                        " {\"version\":3, \"department\":\"x\"}\n"
                        "DELETE /api/v2/routing/users/" A1 "/utilization\n");
    free(text);
    assert_int_equal(files_remove_tree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_operation_survives_a_round_trip),
        cmocka_unit_test(saved_file_loads_back),
        cmocka_unit_test(bad_files_are_refused_by_json_path),
        cmocka_unit_test(user_fields_compare_but_versions_do_not),
        cmocka_unit_test(utilization_compares_what_the_level_owns),
        cmocka_unit_test(skills_and_queues_compare_each_entry),
        cmocka_unit_test(template_fields_compare_deeply),
        cmocka_unit_test(user_restore_sends_the_current_version),
        cmocka_unit_test(template_restore_writes_the_original_fields),
        cmocka_unit_test(utilization_restore_deletes_or_puts),
        cmocka_unit_test(lists_restore_only_what_differs),
        cmocka_unit_test(versioned_restore_needs_a_version),
        cmocka_unit_test(templates_that_cannot_be_restored_are_refused),
        cmocka_unit_test(counts_say_whether_the_restore_is_complete),
        cmocka_unit_test(dry_run_lists_one_line_per_write),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
